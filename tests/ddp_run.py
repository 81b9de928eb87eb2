"""Run by tests/test_precision_and_ddp.py: a DCGAN fitted by the zoo CLI on 2 CPU processes (gloo DDP).

Lightning re-launches this script for rank 1; each rank saves its final parameters to OUT_DIR/rank<r>.pt.
(Batch-norm running statistics are per-rank buffers, as in any DDP run without SyncBatchNorm.)
"""

import sys
from pathlib import Path

import torch

from zoo.cli import ZooCLI

out_dir = Path(sys.argv[1])
cli = ZooCLI(
    args=[
        "fit",
        "--model=zoo.models.gan.DCGAN",
        "--model.init_args.generator=zoo.nets.DCGANGenerator",
        "--model.init_args.generator.init_args.base_channels=8",
        "--model.init_args.discriminator=zoo.nets.DCGANDiscriminator",
        "--model.init_args.discriminator.init_args.base_channels=8",
        "--data=datamodules.SyntheticDataModule",
        "--data.init_args.num_images=144",
        "--data.init_args.val_size=16",
        "--data.init_args.batch_size=16",
        "--trainer.accelerator=cpu",
        "--trainer.devices=2",
        "--trainer.strategy=ddp",  # the CLI turns this into ddp_find_unused_parameters_true
        "--trainer.max_steps=8",  # optimiser steps: 4 iterations of D + G
        "--trainer.logger=false",
        "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false",
        f"--trainer.default_root_dir={out_dir}",
        "--images.every_n_batches=0",
        "--seed_everything=0",
    ]
)
torch.save(
    {"params": {k: v.detach() for k, v in cli.model.named_parameters()}, "iteration": cli.model.iteration, "strategy": type(cli.trainer.strategy).__name__},
    out_dir / f"rank{cli.trainer.global_rank}.pt",
)
