"""Sample diversity (Rosca et al. 2017, arXiv:1706.04987, Fig. 8): ``1 - mean MS-SSIM`` over random pairs.

MS-SSIM (Wang et al. 2003) compares two images at several scales; pairs of samples that look alike score near 1,
so a low diversity means mode collapse, and a diversity above the test set's means noise. The score is read
against the test set's own value and a noised test set's (which is higher), both given by :func:`reference_diversity`.

Adapted to 28-32 px images: the standard MS-SSIM uses 5 scales and an 11-px Gaussian window (σ = 1.5), which needs
images over 160 px. Here it uses **3 scales** (28 → 14 → 7 px, or 32 → 16 → 8), a **5-px Gaussian window with
σ = 2/3 px** (its ±2 px are 3σ), and the first three of the standard scale weights (0.0448, 0.2856, 0.3001)
renormalised to sum to 1; negative contrast terms are clipped at 0 (torchmetrics' ``normalize="relu"``) so that every
pair gives a finite value. The constants below are the one statement of these settings: torchmetrics sizes a
Gaussian window from σ alone (``2·int(3.5σ + 0.5) + 1`` px, ignoring ``kernel_size``), so :data:`KERNEL_SIZE` is
derived from :data:`SIGMA` by that rule, and σ = 1 would run a 9-px window.
"""

import torch
from torch import Tensor

SIGMA = 2 / 3
"""σ of the Gaussian window, in pixels."""
KERNEL_SIZE = 2 * int(3.5 * SIGMA + 0.5) + 1
"""The window torchmetrics runs for :data:`SIGMA`: 5 px."""
BETAS = tuple(b / (0.0448 + 0.2856 + 0.3001) for b in (0.0448, 0.2856, 0.3001))
"""The weight of each scale (finest first)."""
SCALES = len(BETAS)
PAIRS = 2000
"""Random pairs of distinct images the score averages over."""
NOISE_STD = 0.2
"""The noised reference: Gaussian pixel noise of this std on [0, 1] images, clipped."""
SETTINGS = (f"1 - mean MS-SSIM over {PAIRS} random pairs; {SCALES} scales, a {KERNEL_SIZE}-px Gaussian window "
            f"(σ = {SIGMA:.2f} px)")
"""The settings in words, for tables and reports to cite."""


def ms_ssim_pairs(a: Tensor, b: Tensor, batch_size: int = 500) -> Tensor:
    """MS-SSIM of each pair ``(a[i], b[i])`` (N,), images (N, C, H, W) in [0, 1], with the settings above."""
    from torchmetrics.image import MultiScaleStructuralSimilarityIndexMeasure

    if a.shape != b.shape or a.dim() != 4:
        raise ValueError(f"MS-SSIM compares two batches of images of one shape (N, C, H, W); got {tuple(a.shape)} "
                         f"and {tuple(b.shape)}")
    if min(a.shape[-2:]) <= (KERNEL_SIZE - 1) * (SCALES - 1) ** 2:
        raise ValueError(f"images of {tuple(a.shape[-2:])} px are too small for {SCALES}-scale MS-SSIM with a "
                         f"{KERNEL_SIZE}-px window; the diversity score is set up for 28-32 px images")
    metric = MultiScaleStructuralSimilarityIndexMeasure(
        gaussian_kernel=True, kernel_size=KERNEL_SIZE, sigma=SIGMA, betas=BETAS, data_range=1.0,
        normalize="relu", reduction="none",
    )
    for x, y in zip(a.float().split(batch_size), b.float().split(batch_size)):
        metric.update(x, y)  # with reduction="none" the metric keeps every pair's value
    return metric.compute().flatten()


def diversity_score(images: Tensor, pairs: int = PAIRS, seed: int = 0) -> float:
    """``1 - mean MS-SSIM`` over ``pairs`` random pairs of distinct images (N >= 2, (N, C, H, W) in [0, 1])."""
    n = len(images)
    if n < 2 or pairs < 1:
        raise ValueError(f"the diversity score needs >= 2 images and >= 1 pair, got {n} images and {pairs} pairs")
    generator = torch.Generator().manual_seed(seed)
    first = torch.randint(n, (pairs,), generator=generator)
    second = (first + torch.randint(1, n, (pairs,), generator=generator)) % n  # never the same image
    return float(1 - ms_ssim_pairs(images[first], images[second]).mean())


def noised(images: Tensor, std: float = NOISE_STD, seed: int = 0) -> Tensor:
    """``clip(x + std·ε, 0, 1)``: the noised test set the paper reports next to the test set."""
    generator = torch.Generator().manual_seed(seed)
    return (images + std * torch.randn(images.shape, generator=generator)).clamp(0, 1)


def reference_diversity(real: Tensor, split: str = "test", pairs: int = PAIRS, seed: int = 0) -> dict[str, float]:
    """The diversity of the real images of ``split`` and of their noised copy, the two values a model's score is
    read against, keyed ``diversity[<split>]`` and ``diversity[<split>+noise]``."""
    first, second = reference_keys(split)
    return {first: diversity_score(real, pairs, seed), second: diversity_score(noised(real, seed=seed), pairs, seed)}


def reference_keys(split: str = "test") -> tuple[str, str]:
    """The keys of :func:`reference_diversity`'s two values: scores of the real data, not of a model."""
    return f"diversity[{split}]", f"diversity[{split}+noise]"
