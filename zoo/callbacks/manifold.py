"""The learned 2-D manifold as a picture at the end of fit: ``<log_dir>/images/manifold.png``."""

from pathlib import Path

import lightning as L
from lightning.pytorch.utilities import rank_zero_info, rank_zero_only
from torchvision.utils import make_grid, save_image

from zoo.callbacks.images import log_image
from zoo.sampling.manifold import latent_manifold


class LatentManifold(L.Callback):
    """At the end of fit, decode an ``n × n`` grid of z at Gaussian quantiles (see :mod:`zoo.sampling.manifold`) and
    write it to ``<log_dir>/images/manifold.png`` (and to the logger's images). Models whose latent is not 2-D are
    skipped with a message, so the callback can sit in any config.

    Args:
        n: images per row and column.
        low: smallest probability of the quantile grid.
        high: largest probability of the quantile grid.
    """

    def __init__(self, n: int = 20, low: float = 0.05, high: float = 0.95) -> None:
        self.n, self.low, self.high = n, low, high
        self.path: Path | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        # log_dir is a collective call under DDP: every rank asks, only rank 0 writes.
        self.path = Path(trainer.log_dir or trainer.default_root_dir) / "images" / "manifold.png"

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if getattr(pl_module, "latent_dim", None) != 2:
            rank_zero_info(f"LatentManifold: {type(pl_module).__name__} has no 2-D latent; no manifold.png")
            return
        self._write(trainer, pl_module)

    @rank_zero_only
    def _write(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        grid = make_grid(latent_manifold(pl_module, self.n, self.low, self.high).cpu(), nrow=self.n, padding=0)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        save_image(grid, self.path)
        for logger in trainer.loggers:
            log_image(logger, "images/manifold", grid, pl_module.iteration)
        rank_zero_info(f"manifold: {self.path}")
