"""``best.ckpt``: the run's checkpoint at its lowest logged FID, kept beside ``last.ckpt``.

Lightning's ``ModelCheckpoint(monitor=FID, mode="min", save_top_k=1)``, fed by :class:`~zoo.callbacks.QualityMetrics`
instead of ``self.log``: whenever the quality curve gets a new point (every ``every_n_batches`` iterations and at the
end of fit) the FID is compared with the best so far and, if lower, the full training checkpoint is written to
``best.ckpt`` (through zoo's atomic checkpoint writer, like ``last.ckpt``). A NaN FID never counts as best.

A resumed run logs into a new version folder; the best of the earlier legs is carried over: its score is restored
from the resumed checkpoint and its ``best.ckpt`` copied into the new folder, so the newest version folder of a run
always holds the best of the whole run. Without a quality curve (no ``QualityMetrics``, or one that does not score
``fid``) it does nothing.
"""

from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities import rank_zero_info

from zoo.callbacks.quality import QualityMetrics
from zoo.core.checkpoint_io import write_atomically

BEST_NAME = "best"


class BestCheckpoint(ModelCheckpoint):
    """Keeps ``best.ckpt``, the checkpoint at the lowest FID that ``QualityMetrics`` logged (see the module docstring).

    Args:
        filename: the file's name without ``.ckpt``.
        verbose: print a line whenever a new best is saved.
    """

    def __init__(self, filename: str = BEST_NAME, verbose: bool = False) -> None:
        super().__init__(filename=filename, mode="min", save_top_k=1, save_last=False, verbose=verbose,
                         enable_version_counter=False)
        self._quality: QualityMetrics | None = None
        self._carried_over: tuple[str, float] | None = None  # an earlier leg's best.ckpt and its FID

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """Find the quality curve and name the monitored FID (before a resumed state is loaded: its key uses it)."""
        self._quality = next((c for c in trainer.callbacks if isinstance(c, QualityMetrics)), None)
        self.monitor = self._quality.fid_key(trainer.datamodule) if self._quality is not None else None
        super().setup(trainer, pl_module, stage)

    @property
    def active(self) -> bool:
        return self.monitor is not None

    # --- resume -----------------------------------------------------------------------------------------------

    def load_state_dict(self, state_dict: dict) -> None:
        previous = state_dict.get("best_model_path") or ""
        score = state_dict.get("best_model_score")
        if self.dirpath == state_dict.get("dirpath", self.dirpath) or score is None or not previous:
            return super().load_state_dict(state_dict)
        self._carried_over = (previous, float(score))  # copied into this leg's folder when training starts

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_start(trainer, pl_module)
        if self._carried_over is None or not self.active:
            return
        previous, score = self._carried_over
        self._carried_over = None
        target = str(Path(self.dirpath) / f"{self.filename}{self.FILE_EXTENSION}")
        copied = False
        if trainer.is_global_zero and Path(previous).is_file():
            write_atomically(Path(previous).read_bytes(), Path(target))
            copied = True
        if trainer.strategy.broadcast(copied):
            self.best_k_models = {target: torch.tensor(score)}
            self.best_model_path = self.kth_best_model_path = target
            self.best_model_score = self.kth_value = torch.tensor(score)
            rank_zero_info(f"best.ckpt of the earlier run (FID {score:.4g}) carried over to {target}")

    # --- while training: only when the quality curve gets a point --------------------------------------------

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.active and self._quality.due(pl_module.iteration):
            self._judge(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.active:  # QualityMetrics scored the final weights just before (callbacks run in order)
            self._judge(trainer, pl_module)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Nothing: the FID arrives with the quality curve, not with the epoch."""

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Nothing: see :meth:`on_train_epoch_end`."""

    def _judge(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Save ``best.ckpt`` if the FID just scored (on rank 0; shared with every rank) is the lowest so far."""
        scored = self._quality.scored_at(pl_module.iteration) if trainer.is_global_zero else None
        fid = trainer.strategy.broadcast(None if scored is None else scored.get(self.monitor))
        if fid is None or self._should_skip_saving_checkpoint(trainer):
            return
        candidates = self._monitor_candidates(trainer)
        candidates[self.monitor] = torch.tensor(float(fid))
        self._save_topk_checkpoint(trainer, candidates)


def best_beside(checkpoint: str | Path) -> Path | None:
    """The ``best.ckpt`` in the same folder as a run's ``checkpoint`` (e.g. its ``last.ckpt``), if there is one."""
    candidate = Path(checkpoint).with_name(f"{BEST_NAME}.ckpt")
    return candidate if candidate.is_file() and candidate != Path(checkpoint) else None

