"""Variational terms: the Gaussian KL and reparameterisation, decoder likelihoods, and the Gumbel-softmax
relaxation with its categorical KL (concrete VAE)."""

import math

import torch
import torch.nn.functional as F
from torch import Tensor


# --- variational terms (Kingma & Welling 2014, arXiv:1312.6114) --------------------------------------------------


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """``KL(N(mu, diag(exp(logvar))) || N(0, I))`` per sample, summed over latent dims:
    ``-1/2 Σ (1 + logvar - mu² - exp(logvar))``. Shape (B,)."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)


def reparameterize(mu: Tensor, logvar: Tensor) -> Tensor:
    """``z = mu + sigma ⊙ eps`` with ``eps ~ N(0, I)``: a sample of q(z|x) that is differentiable in (mu, logvar)."""
    return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)


def bernoulli_nll(logits: Tensor, target: Tensor) -> Tensor:
    """``-log p(x|z)`` of a Bernoulli decoder with ``p = sigmoid(logits)``, targets in [0, 1]. Shape (B,)."""
    return F.binary_cross_entropy_with_logits(logits, target, reduction="none").flatten(1).sum(1)


def gaussian_nll(mean: Tensor, log_std: Tensor, target: Tensor) -> Tensor:
    """``-log N(x; mean, exp(log_std)²)`` summed over pixels (``log_std`` broadcasts). Shape (B,)."""
    log_std = log_std.expand_as(mean)
    per_pixel = 0.5 * ((target - mean) * torch.exp(-log_std)).pow(2) + log_std + 0.5 * math.log(2 * math.pi)
    return per_pixel.flatten(1).sum(1)


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
