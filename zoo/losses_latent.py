"""Losses on latent codes for the autoencoding and hybrid family, as pure tensor functions.

The MMD penalty of WAE, the Gumbel-softmax relaxation and the categorical KL of the concrete VAE, image corruption
for denoising autoencoders, and the reconstruction costs of deterministic autoencoders. The Gaussian KL, the
likelihoods and the GAN losses these models also use live in :mod:`zoo.losses`. Conventions as there: per-image
quantities are summed over pixels / latent dimensions and returned with shape (B,), or averaged over the batch.
"""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from zoo.losses import bernoulli_nll

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


# --- Gumbel-softmax / concrete relaxation (Jang et al. 2016, arXiv:1611.01144; Maddison et al. 2016) ----------------


def sample_gumbel(shape: torch.Size, like: Tensor, eps: float = 1e-10) -> Tensor:
    """Standard Gumbel noise ``-log(-log U)``, ``U ~ U(0, 1)``, with the dtype and device of ``like``."""
    u = torch.rand(shape, dtype=like.dtype, device=like.device)
    return -torch.log(-torch.log(u + eps) + eps)


def gumbel_softmax(logits: Tensor, temperature: float, hard: bool = False) -> Tensor:
    """A differentiable sample of ``Categorical(softmax(logits))`` over the last dimension.

    ``y = softmax((logits + g) / τ)`` with Gumbel noise ``g`` (Jang et al. eq. 1); as τ → 0 it tends to the one-hot
    ``argmax(logits + g)`` (the Gumbel-max sample). ``hard=True`` is the straight-through estimator: the forward
    value is that one-hot vector, the gradient is the soft sample's.
    """
    soft = F.softmax((logits + sample_gumbel(logits.shape, logits)) / temperature, dim=-1)
    if not hard:
        return soft
    one_hot = F.one_hot(soft.argmax(-1), soft.shape[-1]).to(soft.dtype)
    return one_hot - soft.detach() + soft  # value: one_hot; gradient: d soft


def categorical_kl_uniform(logits: Tensor) -> Tensor:
    """``KL(Cat(softmax(logits)) || Uniform(K))`` summed over the categorical variables.

    ``logits`` is (B, N, K): N independent K-way variables. ``KL = Σ_k q_k log q_k + log K`` per variable. Shape (B,).
    """
    log_q = F.log_softmax(logits.float(), dim=-1)
    num_classes = logits.shape[-1]
    per_variable = (log_q.exp() * log_q).sum(-1) + torch.log(torch.tensor(float(num_classes)))
    return per_variable.sum(-1)


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
