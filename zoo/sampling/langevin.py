"""Discriminator-Driven Latent Sampling (Che et al. 2020, arXiv:2003.06060).

The generator and discriminator together define an energy-based model in latent space,
``E(z) = -log p0(z) - d(G(z))`` with ``p0 = N(0, I)`` and ``d`` the model's :meth:`energy` (the logit of a logistic
discriminator, a Wasserstein critic's value), whose pushforward through G is ``p_t(x) ∝ p_g(x)·e^{d(x)}``.
It is sampled by Langevin dynamics
``z <- z - (ε/2) ∇E(z) + sqrt(ε) · σ · n``, ``n ~ N(0, I)``.
"""

from collections.abc import Callable

import torch
from torch import Tensor


def check_langevin_settings(steps: int, step_size: float, noise_scale: float) -> None:
    """Refuse settings under which Langevin dynamics is not a sampler (no steps, a non-positive step)."""
    if steps < 1 or step_size <= 0 or noise_scale < 0:
        raise ValueError(f"DDLS needs steps >= 1, step_size > 0 and noise_scale >= 0; got steps={steps}, "
                         f"step_size={step_size}, noise_scale={noise_scale}")


def latent_langevin(
    z: Tensor,
    logit: Callable[[Tensor], Tensor] | None,
    steps: int = 100,
    step_size: float = 0.01,
    noise_scale: float = 1.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Run ``steps`` Langevin updates of ``z`` (B, D) on ``E(z) = ||z||²/2 - logit(z)`` (``logit`` maps latents to
    (B,) energies d(G(z)); None means d ≡ 0, which leaves N(0, I) invariant up to discretisation)."""
    check_langevin_settings(steps, step_size, noise_scale)
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
    """DDLS samples: Langevin in z on ``E(z) = ||z||²/2 - d(G(z))`` with d the model's :meth:`energy`, then G(z);
    images in [0, 1]. Models that do not declare ``ddls`` are refused."""
    if "ddls" not in model.density_samplers():
        raise model.sampler_refusal("ddls")
    if n < 1:
        raise ValueError(f"DDLS draws n >= 1 samples, got {n}")
    model.eval()
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    z0 = model.sample_latent(n, generator)
    with torch.enable_grad():
        z = latent_langevin(z0, lambda z: model.energy(model.generate(z)), steps, step_size,
                            noise_scale, generator)
    return model.sample(n, z=z)
