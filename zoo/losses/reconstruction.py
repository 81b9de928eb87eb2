"""Reconstruction costs of deterministic autoencoders and image corruption for denoising ones."""

import torch
from torch import Tensor

from zoo.losses.variational import bernoulli_nll


# --- denoising autoencoders (Vincent et al. 2008) ---------------------------------------------------------------

NOISE_TYPES = ("gaussian", "masking", "salt_and_pepper")


def corrupt(x: Tensor, kind: str, level: float) -> Tensor:
    """Corrupt images ``x`` in [-1, 1] for a denoising autoencoder; the result stays in [-1, 1].

    ``gaussian``: add N(0, level²) noise (level in units of the [-1, 1] range) and clip.
    ``masking``: set a random fraction ``level`` of the pixels to black (-1).
    ``salt_and_pepper``: set a random fraction ``level`` of the pixels to black or white (-1 or 1, equally likely).
    """
    if kind == "gaussian":
        return (x + level * torch.randn_like(x)).clamp(-1, 1)
    if kind == "masking":
        return torch.where(torch.rand_like(x) < level, torch.full_like(x, -1.0), x)
    if kind == "salt_and_pepper":
        hit = torch.rand_like(x) < level
        salt = torch.where(torch.rand_like(x) < 0.5, 1.0, -1.0).to(x.dtype)
        return torch.where(hit, salt, x)
    raise ValueError(f"unknown noise type {kind!r}; choose one of {NOISE_TYPES}")


# --- reconstruction costs c(x, x̂) of deterministic autoencoders --------------------------------------------------

RECONSTRUCTION_COSTS = ("bernoulli", "squared", "l1")


def reconstruction_cost(decoded: Tensor, target: Tensor, kind: str) -> Tensor:
    """Cost per image (B,) between a decoder's raw output and ``target`` images in [0, 1].

    ``bernoulli``: cross-entropy with ``p = sigmoid(decoded)`` (nats/image). ``squared``: ``||x - sigmoid(decoded)||²``
    (the WAE paper's c). ``l1``: ``||x - sigmoid(decoded)||₁``. Sums run over pixels.
    """
    if kind == "bernoulli":
        return bernoulli_nll(decoded.float(), target)
    mean = torch.sigmoid(decoded.float())
    if kind == "squared":
        return (mean - target).pow(2).flatten(1).sum(1)
    if kind == "l1":
        return (mean - target).abs().flatten(1).sum(1)
    raise ValueError(f"unknown reconstruction cost {kind!r}; choose one of {RECONSTRUCTION_COSTS}")


def pixel_mse(reconstruction: Tensor, x: Tensor) -> Tensor:
    """Mean squared error per pixel, measured in [0, 1] units, between two image batches in [-1, 1]: a cost that
    compares reconstructions across models whatever their training loss."""
    return ((reconstruction.float() - x.float()) / 2).pow(2).mean()
