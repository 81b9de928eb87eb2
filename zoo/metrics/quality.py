"""Sample-quality and likelihood numbers for one model, each stated with how it was made ("zoo evaluate" runs them
through :func:`zoo.metrics.evaluation.evaluate`).

FID, KID and Inception Score come from torchmetrics (with zoo's classifier features where Inception weights
cannot be downloaded); precision/recall from :mod:`zoo.metrics.precision_recall`; NLL from the IWAE bound; the
diversity score (1 - mean MS-SSIM of sample pairs) from :mod:`zoo.metrics.diversity`.
"""

import math

import torch
from torch import Tensor

from zoo.arguments import InvalidArgument
from zoo.metrics.classifier import classes_covered
from zoo.metrics.diversity import diversity_score
from zoo.metrics.features import (ClassifierFeatures, Extractor, extract, get_extractor, inception_unavailable,
                                  three_channels)
from zoo.metrics.precision_recall import precision_recall
from zoo.progress import progress

CONDITIONAL_METRICS = ("accuracy", "ifid", "cas")
"""Metrics of class-conditional models (:mod:`zoo.metrics.conditional`): samples asked for each class."""
METRICS = ("fid", "kid", "is", "pr", "diversity", "classes", "nll", "code_accuracy", *CONDITIONAL_METRICS)
PR_NEIGHBOURS = 3  # k of the k-NN balls of precision/recall
IS_SPLITS = 10
MINIMUM_IMAGES = {"fid": 2, "kid": 2, "is": IS_SPLITS, "pr": PR_NEIGHBOURS + 1, "diversity": 2, "classes": 1}
"""The fewest images (real and generated) each sample metric is defined for: a covariance (FID) or a pair (KID,
diversity) needs 2, IS one per split, precision/recall the k nearest neighbours of each point besides itself."""

LOCAL = {"sync_on_compute": False}
"""torchmetrics syncs a metric's state over every DDP rank in ``compute()``, a collective the other ranks never join
when one rank scores (the quality callback runs on global rank 0): every metric here is computed on its own rank."""


def split_batches(datamodule, split: str):
    """The batches (images in [-1, 1], labels) of a split of ``datamodule``: ``train``, ``val`` or ``test``."""
    datamodule.setup("test" if split == "test" else "fit")
    return getattr(datamodule, f"{split}_dataloader")()


def real_images(datamodule, split: str, n: int) -> tuple[Tensor, Tensor]:
    """The first ``n`` images (in [0, 1]) and labels of a split: ``train``, ``val`` or ``test``."""
    images, labels, count = [], [], 0
    for batch_images, batch_labels in split_batches(datamodule, split):
        images.append(batch_images)
        labels.append(batch_labels)
        count += len(batch_images)
        if count >= n:
            break
    return ((torch.cat(images)[:n] + 1) / 2).clamp(0, 1), torch.cat(labels)[:n]


@torch.no_grad()
def generated_images(model, n: int, seed: int = 0, batch_size: int = 500, labels: Tensor | None = None,
                     prior: str | None = None) -> Tensor:
    """``n`` samples in [0, 1], drawn in batches with seeds ``seed, seed + 1, ...`` (reproducible); a conditional
    model's ``labels`` (n,) say which class each is asked for (None: the model's own choice); ``prior`` names a
    fitted latent prior to draw from (None: the model's own, see :mod:`zoo.sampling.latent_priors`)."""
    starts = range(0, n, batch_size)
    chunks = [model.sample(min(batch_size, n - start), seed=seed + i,
                           **({} if labels is None else {"labels": labels[start:start + batch_size]}),
                           **({} if prior is None else {"prior": prior})).cpu()
              for i, start in enumerate(progress(starts, f"sampling {n} images", len(starts)))]
    return torch.cat(chunks)


class QualityEvaluator:
    """Holds the real images' features of one split, so many sample sets can be scored against them.

    Args:
        real: real images (N, C, H, W) in [0, 1].
        extractor: name of the feature extractor (see :mod:`zoo.metrics.features`).
        kid_subset: subset size of the KID estimator (capped by the sample counts).
    """

    def __init__(self, real: Tensor, extractor: str, kid_subset: int = 1000) -> None:
        self.real = real
        self.extractor: Extractor = get_extractor(extractor, tuple(real.shape[1:]))
        self.kid_subset = kid_subset
        self._inception = None
        self._real_features = None

    @property
    def name(self) -> str:
        return self.extractor.name

    def features(self, images: Tensor) -> Tensor:
        if self.extractor.features is not None:
            return extract(self.extractor.features, images)
        inception = self._inception_net()
        return torch.cat([inception((three_channels(c) * 255).byte()).cpu() for c in images.split(200)]).double()

    def _inception_net(self):
        if self._inception is None:
            try:
                from torchmetrics.image.fid import FrechetInceptionDistance

                self._inception = FrechetInceptionDistance(feature=2048).inception
            except Exception as error:  # missing torch-fidelity, or weights that cannot be downloaded
                raise inception_unavailable(error) from error
        return self._inception

    def real_features(self) -> Tensor:
        if self._real_features is None:
            self._real_features = self.features(self.real)
        return self._real_features

    def score(self, fake: Tensor, metrics: tuple[str, ...] = ("fid", "kid", "is", "pr")) -> dict[str, float]:
        """Metric values of generated images ``fake`` (in [0, 1]) keyed ``"<metric>[<extractor>]"``."""
        tag = f"[{self.name}]"
        results: dict[str, float] = {}
        fake_features = self.features(fake) if {"fid", "kid", "pr"} & set(metrics) else None
        if "fid" in metrics:
            results[f"fid{tag}"] = frechet_distance(self.real_features(), fake_features)
        if "kid" in metrics:
            mean, std = kernel_distance(self.real_features(), fake_features, self.kid_subset)
            results[f"kid{tag}"], results[f"kid_std{tag}"] = mean, std
        if "is" in metrics:
            mean, std = self.inception_score(fake)
            results[f"is{tag}"], results[f"is_std{tag}"] = mean, std
        if "pr" in metrics:
            results[f"precision{tag}"], results[f"recall{tag}"] = precision_recall(self.real_features(), fake_features,
                                                                                   PR_NEIGHBOURS)
        if "diversity" in metrics:  # pixel-space MS-SSIM: no extractor, so no tag
            results["diversity"] = diversity_score(fake)
        if "classes" in metrics:
            results[f"classes{tag}"] = self.classes_covered(fake)
        return results

    def classes_covered(self, images: Tensor, min_fraction: float = 0.02) -> int:
        """Mode coverage: how many classes receive at least ``min_fraction`` of the images by the extractor's
        classifier (Fashion-MNIST: 10 when no class is lost). Only a classifier extractor has classes to count."""
        logits = self.extractor.logits
        if not isinstance(logits, ClassifierFeatures):
            raise ValueError(f"the classes metric counts a classifier's classes; extractor {self.name} is none. Fix: "
                             "use --extractor fmnist-classifier (or classifier:PATH), or leave classes out.")
        return classes_covered(images * 2 - 1, logits.classifier, min_fraction)

    def inception_score(self, images: Tensor) -> tuple[float, float]:
        from torchmetrics.image.inception import InceptionScore

        try:
            if self.extractor.logits is not None:
                metric = InceptionScore(feature=self.extractor.logits, normalize=True, splits=IS_SPLITS, **LOCAL)
            else:
                metric = InceptionScore(normalize=True, splits=IS_SPLITS, **LOCAL)
                images = three_channels(images)
        except Exception as error:
            raise inception_unavailable(error) from error
        for chunk in images.split(500):
            metric.update(chunk)
        mean, std = metric.compute()
        return float(mean), float(std)


def frechet_distance(real: Tensor, fake: Tensor) -> float:
    """FID between two feature sets, through torchmetrics' implementation on precomputed features."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    metric = FrechetInceptionDistance(feature=_Precomputed(real.shape[1]), normalize=True,
                                      input_img_size=(real.shape[1],), **LOCAL)
    metric.update(real, real=True)
    metric.update(fake, real=False)
    return float(metric.compute())


def kernel_distance(real: Tensor, fake: Tensor, subset: int = 1000) -> tuple[float, float]:
    """KID (mean, std over subsets) between two feature sets, through torchmetrics."""
    from torchmetrics.image.kid import KernelInceptionDistance

    size = min(subset, len(real), len(fake))
    metric = KernelInceptionDistance(feature=_Precomputed(real.shape[1]), normalize=True, subset_size=size,
                                      **LOCAL)
    metric.update(real, real=True)
    metric.update(fake, real=False)
    mean, std = metric.compute()
    return float(mean), float(std)


class _Precomputed(torch.nn.Module):
    """Identity "network" so torchmetrics' FID/KID statistics run on features computed once and reused."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: Tensor) -> Tensor:
        return features


def check_metrics(metrics: tuple[str, ...]) -> None:
    """Refuse metric names that are not in :data:`METRICS`, listing the valid ones."""
    unknown = set(metrics) - set(METRICS)
    if unknown:
        raise ValueError(f"unknown metrics {sorted(unknown)}; choose from {', '.join(METRICS)}")


def check_counts(metrics: tuple[str, ...], n: int, flag: str = "--n") -> None:
    """Refuse ``n`` images (given as ``flag``) for a metric that needs more (:data:`MINIMUM_IMAGES`), before work."""
    short = {m: MINIMUM_IMAGES[m] for m in metrics if MINIMUM_IMAGES.get(m, 0) > n}
    if short:
        needs = ", ".join(f"{metric} needs at least {count}" for metric, count in short.items())
        raise InvalidArgument(f"{flag} {n} is too few images for the metrics asked for ({needs}). Fix: give "
                              f"{flag} {max(short.values())} or more (thousands for comparable values), or leave "
                              f"{', '.join(short)} out of --metrics.")


def check_split_size(available: int, n: int, split: str, flag: str = "--n") -> None:
    """Refuse comparing ``n`` generated images with the fewer ``available`` real images of ``split``."""
    if available < n:
        raise InvalidArgument(f"{flag} {n} is more than the {available} images of the {split} split, so real and "
                              f"generated counts would differ. Fix: give {flag} {available} or fewer, or another "
                              "--split.")


def _json_number(value):
    """Floats rounded to 6 digits; NaN/inf become None so every line is valid JSON (inside dicts too: the per-class
    values)."""
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_number(v) for k, v in value.items()}
    return value
