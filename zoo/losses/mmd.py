"""Maximum mean discrepancy between codes and the prior: the WAE-MMD penalty."""

from collections.abc import Sequence

import torch
from torch import Tensor


# --- maximum mean discrepancy (Gretton et al. 2012; the WAE-MMD penalty of Tolstikhin et al. 2017, Sec. 4) --------

WAE_SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
"""The kernel scales of the WAE paper's experiments: ``C = 2·d·σ²·s`` for each ``s``."""


def squared_distances(a: Tensor, b: Tensor) -> Tensor:
    """``||a_i - b_j||²`` for rows of ``a`` (N, D) and ``b`` (M, D). Shape (N, M); exact zeros stay differentiable."""
    return (a.pow(2).sum(1, keepdim=True) + b.pow(2).sum(1) - 2 * a @ b.T).clamp_min(0)


def mmd_imq(x: Tensor, y: Tensor, scales: Sequence[float] = WAE_SCALES, prior_variance: float = 1.0) -> Tensor:
    """Unbiased estimate of MMD²(P, Q) from samples ``x ~ P`` (N, D) and ``y ~ Q`` (M, D), N, M >= 2.

    The kernel is the inverse multiquadratic ``k(a, b) = C / (C + ||a - b||²)`` with ``C = 2·D·σ²·s``, summed over the
    scales ``s`` (σ² = ``prior_variance``): heavy tails keep gradients alive for codes far from the prior's bulk.
    The U-statistic drops the i = j terms, so it is ≈ 0 (and may be slightly negative) when P = Q.
    """
    n, m, dim = x.shape[0], y.shape[0], x.shape[1]
    if n < 2 or m < 2:
        raise ValueError(f"the unbiased MMD estimate needs at least 2 samples on each side, got {n} and {m}")
    x, y = x.float(), y.float()
    dxx, dyy, dxy = squared_distances(x, x), squared_distances(y, y), squared_distances(x, y)
    off_diagonal_x = 1 - torch.eye(n, device=x.device)
    off_diagonal_y = 1 - torch.eye(m, device=x.device)
    total = x.new_zeros(())
    for scale in scales:
        c = 2 * dim * prior_variance * scale
        kxx = (c / (c + dxx) * off_diagonal_x).sum() / (n * (n - 1))
        kyy = (c / (c + dyy) * off_diagonal_y).sum() / (m * (m - 1))
        kxy = (c / (c + dxy)).mean()
        total = total + kxx + kyy - 2 * kxy
    return total
