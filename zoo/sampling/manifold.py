"""The learned manifold of a 2-D latent model: decoder outputs over a grid of z (Kingma & Welling 2014, Fig. 4).

Coordinates are evenly spaced in probability and mapped through the inverse CDF of N(0, 1), so each row and column
covers an equal share of the prior's mass and the grid spans the region the decoder was trained on.
"""

import torch
from torch import Tensor


def gaussian_quantile_grid(n: int = 20, low: float = 0.05, high: float = 0.95) -> Tensor:
    """``n × n`` latents (n², 2) at the N(0, 1) quantiles of ``n`` probabilities evenly spaced in [low, high].

    Row-major, as images are laid out in a grid: z₁ grows left to right, z₂ grows bottom to top.
    """
    if n < 2 or not 0 < low < high < 1:
        raise ValueError(f"need n >= 2 and 0 < low < high < 1, got n={n}, low={low}, high={high}")
    values = torch.distributions.Normal(0.0, 1.0).icdf(torch.linspace(low, high, n))  # (n,)
    z2, z1 = torch.meshgrid(values.flip(0), values, indexing="ij")  # top row = largest z₂
    return torch.stack([z1.flatten(), z2.flatten()], dim=1)


@torch.no_grad()
def latent_manifold(model, n: int = 20, low: float = 0.05, high: float = 0.95) -> Tensor:
    """Decode the quantile grid with a model whose latent is 2-D: images (n², C, H, W) in [0, 1]."""
    if model.latent_dim != 2:
        raise ValueError(f"{type(model).__name__} has a {model.latent_dim}-D latent; the manifold grid needs 2-D")
    return model.sample(n * n, z=gaussian_quantile_grid(n, low, high))

