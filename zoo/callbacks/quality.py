"""Sample quality during training: FID/KID/precision-recall/diversity every N iterations, so dashboards show a quality
curve."""

import lightning as L
from lightning.pytorch.utilities import rank_zero_warn
from torch import Tensor

from zoo.arguments import InvalidArgument
from zoo.metrics.diversity import reference_diversity
from zoo.metrics.features import check_extractor_fits, extractor_label
from zoo.metrics.quality import (METRICS, MINIMUM_IMAGES, QualityEvaluator, generated_images,
                                 real_images)


class QualityMetrics(L.Callback):
    """At the start, every ``every_n_batches`` iterations and at the end of fit, score ``num_images`` samples (fixed seeds) against
    ``num_images`` images of the ``split``, and log ``<split>/fid[<extractor>]`` etc. to every logger (x-axis:
    iterations). Runs on rank 0 only. Small ``num_images`` give biased but comparable-over-time values.

    Args:
        every_n_batches: interval in training batches.
        num_images: real and generated images per evaluation.
        extractor: feature extractor name (``fmnist-classifier``, ``classifier:PATH``, ``inception``).
        metrics: any of ``fid``, ``kid``, ``is``, ``pr``, ``diversity`` (1 - mean MS-SSIM of sample pairs; the
            split's own value and its noised copy's are logged once at the start as ``<split>/diversity[<split>]``
            and ``<split>/diversity[<split>+noise]``).
        split: real images to compare with (``val`` or ``test``).
    """

    def __init__(
        self,
        every_n_batches: int = 1000,
        num_images: int = 1000,
        extractor: str = "fmnist-classifier",
        metrics: tuple[str, ...] = ("fid", "kid", "pr"),
        split: str = "val",
    ) -> None:
        self.every_n_batches = every_n_batches
        self.num_images = num_images
        self.extractor = extractor
        self.metrics = tuple(metrics)
        # it scores one set of samples: no likelihood, no per-code sample sets (code_accuracy: zoo evaluate)
        choices = tuple(m for m in METRICS if m not in ("nll", "code_accuracy"))
        if not set(self.metrics) <= set(choices):
            raise ValueError(f"unknown QualityMetrics metrics {sorted(set(self.metrics) - set(choices))}; choose from "
                             f"{', '.join(choices)}")
        self.split = split
        self.evaluator: QualityEvaluator | None = None
        self.history: list[dict] = []

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        """Refuse, before training, an extractor that cannot score this data (Fashion-MNIST's classifier on a
        user's image folder), saying how to get one."""
        if stage == "fit" and trainer.datamodule is not None:
            check_extractor_fits(self.extractor, trainer.datamodule, "--trainer.callbacks.init_args.extractor")

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero:
            real = self.reference_images(trainer.datamodule)
            self.evaluator = QualityEvaluator(real, self.extractor)
            if "diversity" in self.metrics:  # the reference lines the diversity curve is read against
                references = {f"{self.split}/{k}": v for k, v in reference_diversity(real, self.split).items()}
                for logger in trainer.loggers:
                    logger.log_metrics(references, step=pl_module.iteration)
            self.score(trainer, pl_module)  # the starting point of the curve

    def reference_images(self, datamodule) -> Tensor:
        """``num_images`` real images of the split scored against; with no validation split (``val_size 0``, the
        reference protocol of published FIDs) they come from the test split, and the logged names say ``test/``."""
        split = self.logged_split(datamodule)
        if split != self.split:
            rank_zero_warn("QualityMetrics: val_size is 0, so there is no validation split; sample quality is scored "
                           "against the test split and logged as test/...")
            self.split = split
        real = real_images(datamodule, self.split, self.num_images)[0]
        short = [f"{m} needs {MINIMUM_IMAGES[m]}" for m in self.metrics if MINIMUM_IMAGES.get(m, 0) > len(real)]
        if short:  # e.g. a small image folder's validation split
            raise InvalidArgument(f"QualityMetrics: the {self.split} split holds {len(real)} images, too few for "
                                  f"its metrics ({', '.join(short)}). Fix: hold out more images "
                                  f"(--data.init_args.{self.split}_size), or leave those metrics out.")
        return real

    def logged_split(self, datamodule) -> str:
        """The split the scores are logged under: ``test`` for ``val`` when the data have no validation split."""
        return "test" if self.split == "val" and getattr(datamodule, "val_size", None) == 0 else self.split

    def fid_key(self, datamodule) -> str | None:
        """The logged name of the FID curve (e.g. ``val/fid[fmnist-classifier]``), or None when FID is not scored."""
        return f"{self.logged_split(datamodule)}/fid[{extractor_label(self.extractor)}]" if "fid" in self.metrics else None

    def scored_at(self, iteration: int) -> dict | None:
        """The values scored at training iteration ``iteration`` (rank 0), or None."""
        return self.history[-1] if self.history and self.history[-1]["iteration"] == iteration else None

    def due(self, iteration: int) -> bool:
        """Whether a score is due after training batch ``iteration`` (the same answer on every rank)."""
        return bool(self.every_n_batches) and iteration % self.every_n_batches == 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.due(pl_module.iteration):
            self.score(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self.history or self.history[-1]["iteration"] != pl_module.iteration:
            self.score(trainer, pl_module)

    def score(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.evaluator is None:
            return
        fake = generated_images(pl_module, self.num_images, seed=0)
        values = {f"{self.split}/{k}": v for k, v in self.evaluator.score(fake, self.metrics).items()}
        self.history.append({"iteration": pl_module.iteration, **values})
        for logger in trainer.loggers:
            logger.log_metrics(values, step=pl_module.iteration)
