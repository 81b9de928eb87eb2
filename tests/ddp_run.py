"""Run by the DDP tests: a shipped Fashion-MNIST config, with its callbacks, fitted by the zoo CLI on 2 CPU processes.

Usage: ``python tests/ddp_run.py OUT_DIR CONFIG [zoo fit arguments...]``. The extra arguments choose the layout:
``--trainer.devices=2`` (one machine; Lightning re-launches this script for rank 1 under the default strategy) or
``--trainer.num_nodes=2 --trainer.devices=1`` with ``NODE_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` set (one
command per node, as on a cluster). Each rank saves to OUT_DIR/rank<r>.pt its final parameters and buffers, its
iteration, strategy and world size, and a hash of every training image it saw (to check the data shards).
"""

import hashlib
import sys
from pathlib import Path

import lightning as L
import torch

from zoo.cli import ZooCLI


class SeenImages(L.Callback):
    """Records (epoch, hash) of each training image this rank trains on."""

    def __init__(self) -> None:
        self.hashes: list[tuple[int, str]] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        epoch = trainer.current_epoch
        self.hashes += [(epoch, hashlib.sha1(image.numpy().tobytes()).hexdigest()) for image in batch[0].cpu()]


class RecordingCLI(ZooCLI):
    def instantiate_classes(self) -> None:
        super().instantiate_classes()
        self.seen = SeenImages()
        self.trainer.callbacks.append(self.seen)


out_dir, config, extra = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
cli = RecordingCLI(
    args=[
        "fit",
        "--config", config,
        "--data.init_args.train_subset=256",  # 4 batches of 64 per epoch, 2 per rank
        "--trainer.accelerator=cpu",
        "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false",
        "--trainer.limit_val_batches=1",
        *extra,
    ]
)
torch.save(
    {
        "state": {k: v.detach().clone() for k, v in cli.model.state_dict().items()},
        "iteration": cli.model.iteration,
        "strategy": type(cli.trainer.strategy).__name__,
        "world_size": cli.trainer.world_size,
        "find_unused_parameters": getattr(cli.trainer.strategy, "_ddp_kwargs", {}).get("find_unused_parameters"),
        "seen": cli.seen.hashes,
    },
    out_dir / f"rank{cli.trainer.global_rank}.pt",
)
