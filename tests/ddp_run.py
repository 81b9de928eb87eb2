"""Run by the DDP tests: a model fitted by the zoo CLI on 2 CPU processes (gloo DDP), 4 iterations on tiny data.

Usage: ``python tests/ddp_run.py OUT_DIR dcgan|wgangp|began``. Lightning re-launches this script for rank 1; each
rank saves its final parameters and buffers to OUT_DIR/rank<r>.pt. The DCGAN keeps batch norm, whose running
statistics are per-rank buffers as in any DDP run without SyncBatchNorm; the others use layer norm in G and also
exercise the gradient penalty, generator EMA and historical averaging (WGAN-GP) or the k_t controller (BEGAN).
"""

import sys
from pathlib import Path

import torch

from zoo.cli import ZooCLI

out_dir, name = Path(sys.argv[1]), sys.argv[2]
LAYER_NORM_G = ["--model.init_args.generator.init_args.norm=layer"]  # no per-rank batch-norm statistics
MODELS = {
    "dcgan": ["--model=zoo.models.gan.DCGAN", "--model.init_args.discriminator=zoo.nets.DCGANDiscriminator"],
    "wgangp": [
        "--model=zoo.models.wgan.WGANGP",
        "--model.init_args.n_critic=1",
        "--model.init_args.techniques.ema_decay=0.9",
        "--model.init_args.techniques.historical_averaging=0.01",
        "--model.init_args.discriminator=zoo.nets.DCGANCritic",
    ],
    "began": [
        "--model=zoo.models.began.BEGAN",
        "--model.init_args.lambda_k=0.5",
        "--model.init_args.discriminator=zoo.nets.AutoencoderDiscriminator",
    ],
}
cli = ZooCLI(
    args=[
        "fit",
        *MODELS[name],
        "--model.init_args.discriminator.init_args.base_channels=8",
        "--model.init_args.generator=zoo.nets.DCGANGenerator",
        "--model.init_args.generator.init_args.base_channels=8",
        *(LAYER_NORM_G if name != "dcgan" else []),
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
    {
        "params": {k: v.detach().clone() for k, v in cli.model.named_parameters()},
        "state": {k: v.detach().clone() for k, v in cli.model.state_dict().items()},
        "iteration": cli.model.iteration,
        "strategy": type(cli.trainer.strategy).__name__,
    },
    out_dir / f"rank{cli.trainer.global_rank}.pt",
)
