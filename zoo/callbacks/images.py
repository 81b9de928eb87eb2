"""Fixed-noise sample grids and reconstruction grids: PNG files on disk, and images in whichever logger is set."""

from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from lightning.pytorch.utilities import rank_zero_only
from torch import Tensor
from torchvision.utils import make_grid, save_image

from zoo.sampling.classes import class_grid_inputs
from zoo.sampling.codes import code_grid_latents
from zoo.sampling.labels import resolve_labels
from zoo.sampling.latent import slerp
from zoo.sampling.modes import refused_modes


class ImageGrids(L.Callback):
    """Every ``every_n_batches`` training batches and at the end of fit, draw samples from one fixed batch of noise
    (so successive grids show the same z), spherical interpolation strips between fixed pairs of latents, for
    models with ``reconstruct``, reconstructions of one fixed validation batch (originals on odd rows,
    reconstructions below them), for models with latent codes (InfoGAN) the codes grid of
    :mod:`zoo.sampling.codes` (8 fixed columns; 8 rows per continuous sweep), and for conditional models the class
    grid of :mod:`zoo.sampling.classes` (a row per class, 8 fixed columns). A conditional model's samples and strips
    keep fixed labels too (each strip one class; reconstructions use the images' own). Files:
    ``<log_dir>/images/{samples,interpolation,reconstructions,codes,classes}_<iteration>.png`` and
    ``..._final.png``; the same images go to the W&B or TensorBoard logger.

    Args:
        every_n_batches: interval in training batches (0: only at the end).
        num_images: images per sample grid.
        interpolation_rows: interpolation strips per grid (0: none).
        interpolation_steps: images per strip.
        seed: seed of the fixed noise.
    """

    def __init__(
        self,
        every_n_batches: int = 500,
        num_images: int = 64,
        interpolation_rows: int = 4,
        interpolation_steps: int = 8,
        seed: int = 0,
    ) -> None:
        self.every_n_batches = every_n_batches
        self.num_images = num_images
        self.interpolation_rows = interpolation_rows
        self.interpolation_steps = interpolation_steps
        self.seed = seed
        self._path: Tensor | None = None
        self.directory: Path | None = None
        self.written: list[Path] = []
        self._noise: Tensor | None = None
        self._originals: tuple[Tensor, Tensor] | None = None  # images and their labels
        self._codes: Tensor | None = None
        self._labels: dict[str, Tensor | None] = {}  # a conditional model's fixed labels of each grid
        self._classes: Tensor | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        # log_dir is a collective call under DDP: every rank must ask for it, only rank 0 writes.
        log_dir = trainer.log_dir or trainer.default_root_dir
        self.directory = Path(log_dir) / "images"

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        generator = torch.Generator().manual_seed(self.seed)
        self._noise = pl_module.sample_latent(self.num_images, generator).cpu()
        if self.interpolation_rows and "interpolate" not in refused_modes(pl_module):  # VQ-VAE: no path
            ends = [pl_module.sample_latent(self.interpolation_rows, generator) for _ in range(2)]
            self._path = slerp(*ends, torch.linspace(0, 1, self.interpolation_steps)).flatten(0, 1).cpu()
        if hasattr(pl_module, "reconstruct") and trainer.datamodule is not None:
            self._originals = _first_images(trainer.datamodule, self.num_images // 2)
        codes = pl_module.latent_codes() if hasattr(pl_module, "latent_codes") else None
        if codes is not None:  # 8 columns: the grids' row width; 8 steps per continuous sweep
            self._codes = code_grid_latents(codes, 8, 8, generator=generator).flatten(0, 1)
        if getattr(pl_module, "conditional", False):  # drawn last: an unconditional model's grids are drawn as before
            strips = resolve_labels(pl_module, None, self.interpolation_rows, generator).cpu()
            self._labels = {"samples": resolve_labels(pl_module, None, self.num_images, generator).cpu(),
                            "interpolation": strips.repeat_interleave(self.interpolation_steps, dim=0)}
            self._classes = class_grid_inputs(pl_module, 8, generator)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.every_n_batches and pl_module.iteration % self.every_n_batches == 0:
            self.write(trainer, pl_module, f"{pl_module.iteration:07d}")

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.write(trainer, pl_module, "final")

    @torch.no_grad()
    def write(self, trainer: L.Trainer, pl_module: L.LightningModule, tag: str) -> None:
        if self._noise is None:
            return
        labels = self._labels
        grids = {"samples": pl_module.sample(len(self._noise), z=self._noise, labels=labels.get("samples"))}
        if self._path is not None:
            grids["interpolation"] = pl_module.sample(len(self._path), z=self._path, labels=labels.get("interpolation"))
        if self._originals is not None:
            grids["reconstructions"] = self._reconstruction_rows(pl_module)
        if self._codes is not None:
            grids["codes"] = pl_module.sample(len(self._codes), z=self._codes)
        if self._classes is not None:
            z, classes = self._classes
            grids["classes"] = pl_module.sample(len(z), z=z, labels=classes)
        self._save(trainer, grids, tag, pl_module.iteration)

    def _reconstruction_rows(self, pl_module: L.LightningModule) -> Tensor:
        originals, labels = (t.to(pl_module.device) for t in self._originals)
        was_training = pl_module.training
        pl_module.eval()
        reconstructions = pl_module.reconstruct(originals, *pl_module.batch_condition((originals, labels)))
        pl_module.train(was_training)
        rows = 8
        pairs = [torch.cat([o, r]) for o, r in zip(originals.split(rows), reconstructions.split(rows))]
        return ((torch.cat(pairs).float() + 1) / 2).clamp(0, 1)

    @rank_zero_only
    def _save(self, trainer: L.Trainer, grids: dict[str, Tensor], tag: str, step: int) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for name, images in grids.items():
            nrow = self.interpolation_steps if name == "interpolation" else 8
            grid = make_grid(images.cpu(), nrow=nrow, padding=2, pad_value=1.0)
            path = self.directory / f"{name}_{tag}.png"
            save_image(grid, path)
            self.written.append(path)
            for logger in trainer.loggers:
                log_image(logger, f"images/{name}", grid, step)


def log_image(logger, key: str, grid: Tensor, step: int) -> None:
    """Send an image (C, H, W) in [0, 1] to a W&B or TensorBoard logger; other loggers keep only the PNG files."""
    if isinstance(logger, WandbLogger):
        logger.log_image(key=key, images=[grid], step=step)
    elif isinstance(logger, TensorBoardLogger):
        logger.experiment.add_image(key, grid, step)


def _first_images(datamodule: L.LightningDataModule, n: int) -> tuple[Tensor, Tensor] | None:
    """The first ``n`` validation images and their labels (or training ones when there is no validation split)."""
    datamodule.setup("fit")
    for loader_fn in (datamodule.val_dataloader, datamodule.train_dataloader):
        try:
            images, labels = next(iter(loader_fn()))[:2]
        except (StopIteration, NotImplementedError, TypeError):
            continue
        return images[:n].cpu(), labels[:n].cpu()
    return None

