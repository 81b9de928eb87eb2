"""Discriminator-Driven Latent Sampling (Che et al. 2020, arXiv:2003.06060).

The generator and discriminator together define an energy-based model in latent space,
``E(z) = -log p0(z) - d(G(z))`` with ``p0 = N(0, I)`` and ``d`` the discriminator's logit, whose pushforward
through G corrects p_g towards p_data. It is sampled by Langevin dynamics
``z <- z - (ε/2) ∇E(z) + sqrt(ε) · σ · n``, ``n ~ N(0, I)``.
"""

from collections.abc import Callable

import torch
from torch import Tensor


def latent_langevin(
    z: Tensor,
    logit: Callable[[Tensor], Tensor] | None,
    steps: int = 100,
    step_size: float = 0.01,
    noise_scale: float = 1.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Run ``steps`` Langevin updates of ``z`` (B, D) on ``E(z) = ||z||²/2 - logit(z)`` (``logit`` maps latents to
    (B,) discriminator logits of G(z); None means d ≡ 0, which leaves N(0, I) invariant up to discretisation)."""
    z = z.detach().clone()
    for _ in range(steps):
        z.requires_grad_(True)
        energy = 0.5 * z.pow(2).sum()
        if logit is not None:
            energy = energy - logit(z).sum()
        (grad,) = torch.autograd.grad(energy, z)
        noise = torch.randn(z.shape, generator=generator, dtype=z.dtype).to(z.device)
        z = (z - 0.5 * step_size * grad + (step_size**0.5) * noise_scale * noise).detach()
    return z


def ddls_sample(model, n: int, steps: int = 100, step_size: float = 0.01, noise_scale: float = 1.0,
                seed: int | None = None) -> Tensor:
    """DDLS samples of a GAN: Langevin in z under its discriminator, then G(z); images in [0, 1]."""
    if not hasattr(model, "discriminator"):
        raise ValueError(f"{type(model).__name__} has no discriminator; DDLS needs one")
    model.eval()
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    z0 = model.sample_latent(n, generator)
    with torch.enable_grad():
        z = latent_langevin(z0, lambda z: model.discriminator(model.generate(z)).flatten(), steps, step_size,
                            noise_scale, generator)
    return model.sample(n, z=z)
