"""Vector quantisation (van den Oord, Vinyals & Kavukcuoglu 2017, "Neural Discrete Representation Learning"):
the straight-through gradient, the codebook and commitment terms, and the codebook's perplexity.

The VQ-VAE loss (eq. 3) is ``log p(x|z_q(x)) + ||sg[z_e(x)] - e||² + β ||z_e(x) - sg[e]||²``. As everywhere in
:mod:`zoo.losses`, the two squared norms are summed over the code grid and the D dimensions of each vector and averaged
over the batch, on the scale of the reconstruction term (nats per image).
"""

import torch
from torch import Tensor


def straight_through(z_e: Tensor, z_q: Tensor) -> Tensor:
    """``z_e + sg[z_q - z_e]``: ``z_q`` in the forward pass, the identity's gradient to ``z_e`` in the backward pass
    (Sec. 3.1: "we approximate the gradient similar to the straight-through estimator", copying the decoder input's
    gradient to the encoder output)."""
    return z_e + (z_q - z_e).detach()


def codebook_loss(z_e: Tensor, z_q: Tensor) -> Tensor:
    """``||sg[z_e] - e||²`` per image, averaged over the batch: moves the codes towards the encoder outputs
    assigned to them (the second term of eq. 3; zero gradient to the encoder)."""
    return (z_e.detach().float() - z_q.float()).pow(2).flatten(1).sum(1).mean()


def commitment_loss(z_e: Tensor, z_q: Tensor) -> Tensor:
    """``||z_e - sg[e]||²`` per image, averaged over the batch: keeps the encoder committed to its codes (the third
    term of eq. 3 before its weight β; zero gradient to the codebook)."""
    return (z_e.float() - z_q.detach().float()).pow(2).flatten(1).sum(1).mean()


def code_usage(indices: Tensor, codebook_size: int) -> Tensor:
    """How often each of the K codes was assigned among ``indices`` (any shape): counts (K,) as float."""
    return torch.bincount(indices.flatten(), minlength=codebook_size).float()


def perplexity(indices: Tensor, codebook_size: int) -> Tensor:
    """``exp(H(p))`` of the codes' empirical frequencies p among ``indices``: the effective number of codes in use,
    from 1 (one code for everything) to K (all used equally)."""
    p = code_usage(indices, codebook_size)
    p = p / p.sum().clamp_min(1)
    return torch.exp(-(p * torch.log(p.clamp_min(1e-12))).sum())
