"""Negative log-likelihood by importance sampling: the IWAE bound (Burda et al. 2016, arXiv:1509.00519).

``log p(x) >= log (1/k) Σ_i p(x|z_i) p(z_i) / q(z_i|x)``, ``z_i ~ q(z|x)``; the bound tightens as k grows and equals
the ELBO at k = 1. Pixels are scored in [0, 1] by the model's own decoder likelihood: for a Bernoulli decoder on grey
images this is the usual (non-normalised) "continuous" score, for a Gaussian decoder a density, so compare NLLs only
between models with the same likelihood.
"""

import math

import torch
from torch import Tensor

from zoo.core.variational import log_mean_exp


class NoLikelihood(ValueError):
    """A model's reconstruction cost is not a likelihood, so it has no ELBO (e.g. a VQ-VAE with a squared error)."""


def supports_nll(model) -> bool:
    """Whether ``model`` has a Gaussian encoder and an explicit decoder likelihood."""
    return all(hasattr(model, name) for name in ("encode", "posterior_samples", "log_weights")) and getattr(
        model, "gaussian_posterior", True
    )


@torch.no_grad()
def importance_sampled_nll(model, images: Tensor, k: int = 1000, chunk: int = 250,
                           labels: Tensor | None = None) -> Tensor:
    """``-log p(x)`` estimated with ``k`` importance samples, in nats, for images (B, C, H, W) in [-1, 1]. Shape (B,).

    The log weights are the model's own :meth:`~zoo.core.variational.VariationalModel.log_weights` (the same that
    the IWAE trains on), so the prior is the model's ``log_prior``: N(0, I), or a learned one such as the VampPrior.
    A conditional model (the CVAE) needs the images' ``labels`` and bounds ``-log p(x | y)`` (Sohn et al. 2015,
    eq. 6: the same bound with q(z | x, y) and p(x | z, y), the prior N(0, I))."""
    if not supports_nll(model):
        raise ValueError(f"{type(model).__name__} has no tractable decoder likelihood with a Gaussian encoder")
    if getattr(model, "conditional", False) and labels is None:
        raise ValueError(f"{type(model).__name__} bounds log p(x | y): give the images' labels")
    condition = () if labels is None else (labels,)
    model.eval()
    params = model.encode(images, *condition)
    target = (images.float() + 1) / 2
    log_weights = []
    for start in range(0, k, chunk):
        z = model.posterior_samples(params, min(chunk, k - start))  # (B, n, D)
        log_weights.append(model.log_weights(target, params, z, *condition).total)
    return -log_mean_exp(torch.cat(log_weights, dim=1), dim=1)


@torch.no_grad()
def mean_nelbo(model, images: Tensor, chunk: int = 500, labels: Tensor | None = None) -> float:
    """The mean negative ELBO (nats per image) of ``images`` in [-1, 1], from the model's ``elbo_terms`` (with the
    images' ``labels`` for a conditional model)."""
    parts = zip(images.split(chunk), labels.split(chunk) if labels is not None else [None] * len(images))
    return sum(model.elbo_terms(part, *(() if y is None else (y,)))["nelbo"].item() * len(part)
               for part, y in parts) / len(images)


def bits_per_dim(nll_nats: Tensor | float, image_shape: tuple[int, int, int]) -> float:
    """Nats per image to bits per dimension."""
    return float(nll_nats) / (math.prod(image_shape) * math.log(2))
