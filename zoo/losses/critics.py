"""Critics of integral probability metrics: the Wasserstein critic and its gradient penalty, the Cramér critic,
and the energy d(x) their optima give DDLS (Che et al. 2020); DRAGAN's gradient penalty around the data."""

from collections.abc import Callable

import torch
from torch import Tensor


# --- Wasserstein critics (Arjovsky et al. 2017, arXiv:1701.07875; Gulrajani et al. 2017, arXiv:1704.00028) --------


def wasserstein_critic_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """``E[D(G(z))] - E[D(x)]``: minimising it maximises the Kantorovich-Rubinstein estimate of W1."""
    return fake_scores.float().mean() - real_scores.float().mean()


def wasserstein_generator_loss(fake_scores: Tensor) -> Tensor:
    """``-E[D(G(z))]``."""
    return -fake_scores.float().mean()


def interpolates(real: Tensor, fake: Tensor) -> Tensor:
    """``x̂ = ε x + (1 - ε) x̃`` with one ``ε ~ U[0, 1]`` per image: float32, detached, requiring grad."""
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device)  # (B, 1, 1, 1)
    mixed = eps * real.detach().float() + (1 - eps) * fake.detach().float()
    return mixed.requires_grad_(True)


def gradient_norm_penalty(outputs: Tensor, inputs: Tensor, target: float = 1.0) -> Tensor:
    """``E[(||∇_x̂ D(x̂)||₂ - target)²]`` (Gulrajani et al. eq. 3), differentiable in the critic's weights.

    ``outputs`` are the critic's raw (unscaled) values at ``inputs``; the gradient is taken with create_graph=True
    so that the penalty can be back-propagated, and its norm is computed in float32 (a bf16/fp16 critic's input
    gradient is cast up first). Samples are independent, so the gradient of the sum gives each one's gradient.
    """
    (grad,) = torch.autograd.grad(outputs.float().sum(), inputs, create_graph=True)
    norm = torch.sqrt(grad.float().flatten(1).pow(2).sum(1) + 1e-12)  # (B,); eps keeps sqrt differentiable at 0
    return (norm - target).pow(2).mean()


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, target: float = 1.0) -> Tensor:
    """The WGAN-GP penalty of ``critic`` on random interpolates between ``real`` and ``fake``."""
    x_hat = interpolates(real, fake)
    return gradient_norm_penalty(critic(x_hat), x_hat, target)


# --- DRAGAN (Kodali et al. 2017, On Convergence and Stability of GANs, arXiv:1705.07215) --------------------------


def perturbed_reals(real: Tensor, scale: float = 0.5) -> Tensor:
    """``x̂ = x + α δ`` with ``δ = scale · std(x) · u``, ``u ~ U[0, 1]`` per pixel and ``α ~ U[0, 1]`` per image
    (std over the whole batch), as in the authors' reference code: points in a neighbourhood of the data, float32,
    detached, requiring grad."""
    x = real.detach().float()
    delta = scale * x.std() * torch.rand_like(x)  # (B, C, H, W)
    alpha = torch.rand(x.shape[0], *([1] * (x.dim() - 1)), device=x.device)  # (B, 1, 1, 1)
    return (x + alpha * delta).requires_grad_(True)


def dragan_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, scale: float = 0.5, target: float = 1.0) -> Tensor:
    """``E[(||∇_x̂ D(x̂)||₂ - target)²]`` at perturbed real images x̂ (:func:`perturbed_reals`): DRAGAN's penalty,
    which keeps D's gradients tame in a neighbourhood of the data, where Kodali et al. trace mode collapse to sharp
    gradients. The paper writes the perturbation as Gaussian noise; its reference code, followed here (and by Lucic
    et al. 2018), uses the uniform one of :func:`perturbed_reals`."""
    x_hat = perturbed_reals(real, scale)
    return gradient_norm_penalty(critic(x_hat), x_hat, target)


# --- the Cramér GAN (Bellemare et al. 2017, arXiv:1705.10743, Algorithm 1) ----------------------------------------


def _norm(x: Tensor) -> Tensor:
    """Euclidean norm over features, (B, F) -> (B,), with a gradient at 0 (where two codes coincide)."""
    return torch.sqrt(x.float().pow(2).sum(1) + 1e-12)


def cramer_critic(h_x: Tensor, h_reference: Tensor) -> Tensor:
    """``f(x) = ||h(x) - h(x'_g)||₂ - ||h(x)||₂`` per sample (B,), from codes h (B, F) of x and of a second,
    independent generated batch x'_g."""
    return _norm(h_x - h_reference) - _norm(h_x)


def cramer_energy(h_x: Tensor, h_references: Tensor) -> Tensor:
    """``d(x) = E_{x'_g}[||h(x) - h(x'_g)||₂] - ||h(x)||₂`` per sample (B,): the critic f of Algorithm 1 with its
    reference averaged over a generated batch (R, F), so that d is one function of x. f is trained as WGAN-GP's
    critic is, so Che et al.'s (2020) Wasserstein energy ``p_t ∝ p_g·e^{f(x)}`` applies to it."""
    return torch.cdist(h_x.float(), h_references.float()).mean(1) - _norm(h_x)


def cramer_generator_loss(h_real: Tensor, h_fake: Tensor, h_fake2: Tensor) -> Tensor:
    """The energy distance in code space, ``E||h(x_r) - h(x_g)|| + E||h(x_r) - h(x'_g)|| - E||h(x_g) - h(x'_g)||``,
    from two independent generated batches (its ``E||h(x_r) - h(x'_r)||`` term does not depend on G)."""
    return (_norm(h_real - h_fake) + _norm(h_real - h_fake2) - _norm(h_fake - h_fake2)).mean()


def cramer_surrogate(h_real: Tensor, h_fake: Tensor, h_fake2: Tensor) -> Tensor:
    """``E[f(x_r)] - E[f(x_g)]``, the quantity the critic maximises (before its gradient penalty)."""
    return cramer_critic(h_real, h_fake2).mean() - cramer_critic(h_fake, h_fake2).mean()
