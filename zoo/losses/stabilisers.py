"""The stabilisers of Salimans et al. (2016) that are losses: feature matching, historical averaging."""

from collections.abc import Iterable

import torch

from torch import Tensor


# --- improved techniques (Salimans et al. 2016, arXiv:1606.03498) ---------------------------------------------------


def feature_matching_loss(real_features: Tensor, fake_features: Tensor) -> Tensor:
    """``||E f(x) - E f(G(z))||₂²`` on discriminator features (B, F) (§3.1)."""
    return (real_features.float().flatten(1).mean(0) - fake_features.float().flatten(1).mean(0)).pow(2).sum()


def historical_averaging_penalty(parameters: Iterable[Tensor], averages: Iterable[Tensor]) -> Tensor:
    """``Σ ||θ - (1/t) Σ_i θ[i]||²`` over matching parameter and running-average tensors (§3.3)."""
    terms = [(p.float() - a.float()).pow(2).sum() for p, a in zip(parameters, averages, strict=True)]
    return torch.stack(terms).sum()
