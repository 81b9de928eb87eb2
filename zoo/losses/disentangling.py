"""Disentangling objectives: the β-VAE capacity schedule and β-TCVAE's decomposition of the KL term.

Higgins et al. 2017 (β-VAE, ICLR 2017) weight the KL term by β; Burgess et al. 2018 (arXiv:1804.03599) instead
pull it towards a capacity ``C`` that grows during training: ``recon + γ |KL - C|``. Chen et al. 2018 (Isolating
Sources of Disentanglement in VAEs, NeurIPS 2018, arXiv:1802.04942) split the KL averaged over the data, eq. 2,

    E_p(n)[KL(q(z|n) || p(z))] = KL(q(z, n) || q(z) p(n))         index-code mutual information  I_q(z; n)
                               + KL(q(z) || Π_j q(z_j))            total correlation               TC
                               + Σ_j KL(q(z_j) || p(z_j))          dimension-wise KL

with the aggregate posterior ``q(z) = 1/N Σ_n q(z|n)`` over the N training images, and weight the three terms by
α, β, γ. ``q(z)`` needs every training image; :func:`minibatch_weighted_sampling` estimates it from a minibatch.
"""

import math
from typing import NamedTuple

import torch
from torch import Tensor

LOG_2PI = math.log(2 * math.pi)


def capacity(iteration: int, capacity_max: float, capacity_iterations: int) -> float:
    """Burgess et al. 2018's capacity ``C(t) = C_max · min(1, t / T)`` in nats: 0 at iteration 0, rising linearly to
    ``capacity_max`` at ``capacity_iterations`` (T) and held there."""
    return capacity_max * min(1.0, iteration / capacity_iterations)


def gaussian_log_density(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """``log N(z; mu, exp(logvar))`` per dimension (broadcast):
    ``-1/2 (log 2π + logvar + (z - mu)² / exp(logvar))``."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) * torch.exp(-logvar))


class TCDecomposition(NamedTuple):
    """Per-image estimates (B,) of the three terms of Chen et al. 2018's eq. 2, in nats.

    Attributes:
        mi: ``log q(z|n) - log q(z)``: index-code mutual information.
        tc: ``log q(z) - Σ_j log q(z_j)``: total correlation.
        dwkl: ``Σ_j log q(z_j) - log p(z_j)``: dimension-wise KL to the prior N(0, I).
    """

    mi: Tensor
    tc: Tensor
    dwkl: Tensor


def minibatch_weighted_sampling(z: Tensor, mu: Tensor, logvar: Tensor, dataset_size: int) -> TCDecomposition:
    """Chen et al. 2018's minibatch-weighted sampling (MWS, Section 4 and Appendix C.1) of the KL decomposition.

    For the M codes ``z_i ~ q(z|n_i)`` of a minibatch of M images drawn from the N training images,

        log q(z_i)        ≈ log Σ_j q(z_i | n_j) - log(N M)
        log Π_d q(z_id)   ≈ Σ_d [log Σ_j q(z_id | n_j) - log(N M)]

    (sums over the minibatch's j = 1..M, q a diagonal Gaussian), as in the authors' code. The three estimates sum to
    the single-sample estimate ``log q(z_i|n_i) - log p(z_i)`` of ``KL(q(z|n_i) || p(z))`` exactly, whatever N.
    Where the minibatch holds every training image once (M = N), the sums are the exact aggregate posterior up to
    the estimator's ``-log M``: MI then reads ``log M`` high, TC ``(D - 1) log M`` high and the dimension-wise KL
    ``D log M`` low. N only shifts the estimates by constants: their gradients do not depend on it.

    Args:
        z: codes (M, D) drawn from the posteriors, ``z[i] ~ q(z|n_i)``.
        mu: the posteriors' means (M, D).
        logvar: their log variances (M, D).
        dataset_size: N, the training images the minibatch is drawn from.

    Returns:
        the per-image estimates (M,) of MI, TC and dimension-wise KL.
    """
    batch = z.shape[0]
    log_nm = math.log(dataset_size * batch)
    # log q(z_i,d | n_j) for every pair (i, j): (M, M, D)
    pairwise = gaussian_log_density(z.unsqueeze(1), mu.unsqueeze(0), logvar.unsqueeze(0))
    log_qz = torch.logsumexp(pairwise.sum(2), dim=1) - log_nm  # (M,)
    log_prod_qzd = (torch.logsumexp(pairwise, dim=1) - log_nm).sum(1)  # (M,)
    log_qz_given_n = gaussian_log_density(z, mu, logvar).sum(1)  # (M,)
    log_pz = gaussian_log_density(z, torch.zeros_like(z), torch.zeros_like(z)).sum(1)  # (M,)
    return TCDecomposition(mi=log_qz_given_n - log_qz, tc=log_qz - log_prod_qzd, dwkl=log_prod_qzd - log_pz)
