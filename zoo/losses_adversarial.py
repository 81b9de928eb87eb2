"""Losses of the adversarial family beyond the original GAN, as pure tensor functions.

The original GAN's losses live in :mod:`zoo.losses`; this module adds the f-divergence table of f-GAN, the Wasserstein
critic and its gradient penalty, the Cramér (energy-distance) critic, the energy losses of EBGAN and BEGAN, and the
stabilisers of Salimans et al. (2016). Conventions: critic outputs are (B,) or (B, 1); per-image quantities are
averaged over the batch; everything that can overflow in half precision is computed in float32.
"""

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

# --- f-GAN: the f-divergence table (Nowozin et al. 2016, arXiv:1606.00709, Tables 1 and 2) -------------------------


@dataclass(frozen=True)
class FDivergence:
    """One row of the f-GAN table: ``D_f(P || Q) = ∫ q(x) f(p(x) / q(x)) dx`` and what training it needs.

    Attributes:
        name: the YAML name (``divergence: pearson``).
        f: the generator function ``f(u)``, convex with ``f(1) = 0``, for ``u > 0``.
        conjugate: the Fenchel conjugate ``f*(t) = sup_u u·t - f(u)``, for ``t`` in its domain.
        activation: the output activation ``g_f: R -> dom f*``; the critic is ``T(x) = g_f(V(x))``.
        derivative: ``f'(u)``; the optimal critic is ``T*(x) = f'(p(x) / q(x))``.
        conjugate_of_activation: ``f*(g_f(v))`` written out so that it is stable for every real ``v``.
        log_ratio: ``log p/q = log (f')⁻¹(g_f(v))``, the optimal-critic relation ``T*(x) = f'(p(x)/q(x))`` inverted
            and written in ``v`` (what DRS and DDLS need); None where f' cannot be inverted.
    """

    name: str
    f: Callable[[Tensor], Tensor]
    conjugate: Callable[[Tensor], Tensor]
    activation: Callable[[Tensor], Tensor]
    derivative: Callable[[Tensor], Tensor]
    conjugate_of_activation: Callable[[Tensor], Tensor]
    log_ratio: Callable[[Tensor], Tensor] | None


LOG2 = math.log(2.0)

F_DIVERGENCES: dict[str, FDivergence] = {
    d.name: d
    for d in (
        FDivergence(  # KL(P || Q)
            "kl",
            f=lambda u: u * torch.log(u),
            conjugate=lambda t: torch.exp(t - 1),
            activation=lambda v: v,
            derivative=lambda u: 1 + torch.log(u),
            conjugate_of_activation=lambda v: torch.exp(v - 1),
            log_ratio=lambda v: v - 1,  # f' = 1 + log u
        ),
        FDivergence(  # KL(Q || P); dom f* = t < 0
            "reverse_kl",
            f=lambda u: -torch.log(u),
            conjugate=lambda t: -1 - torch.log(-t),
            activation=lambda v: -torch.exp(-v),
            derivative=lambda u: -1 / u,
            conjugate_of_activation=lambda v: v - 1,
            log_ratio=lambda v: v,  # f' = -1/u = -exp(-v)
        ),
        FDivergence(  # 2·JS(P, Q) = KL(P || M) + KL(Q || M), M = (P + Q) / 2; dom f* = t < log 2
            "jensen_shannon",
            f=lambda u: u * torch.log(u) - (u + 1) * torch.log((u + 1) / 2),
            conjugate=lambda t: -torch.log(2 - torch.exp(t)),
            activation=lambda v: LOG2 - F.softplus(-v),
            derivative=lambda u: torch.log(2 * u / (u + 1)),
            conjugate_of_activation=lambda v: F.softplus(v) - LOG2,
            log_ratio=lambda v: v,  # f' = log(2u/(u+1)) = log 2σ(v)
        ),
        FDivergence(  # the GAN game's divergence 2·JS - log 4 (so f(1) = -log 4); dom f* = t < 0
            "gan",
            f=lambda u: u * torch.log(u) - (u + 1) * torch.log(u + 1),
            conjugate=lambda t: -torch.log(1 - torch.exp(t)),
            activation=lambda v: -F.softplus(-v),
            derivative=lambda u: torch.log(u / (u + 1)),
            conjugate_of_activation=lambda v: F.softplus(v),
            log_ratio=lambda v: v,  # f' = log(u/(u+1)) = log σ(v)
        ),
        FDivergence(  # Pearson χ²
            "pearson",
            f=lambda u: (u - 1) ** 2,
            conjugate=lambda t: t**2 / 4 + t,
            activation=lambda v: v,
            derivative=lambda u: 2 * (u - 1),
            conjugate_of_activation=lambda v: v**2 / 4 + v,
            log_ratio=lambda v: torch.log(torch.clamp(1 + v / 2, min=1e-6)),  # u = 1 + T/2 >= 0 at the optimum
        ),
        FDivergence(  # Neyman χ²; dom f* = t < 1
            "neyman",
            f=lambda u: (1 - u) ** 2 / u,
            conjugate=lambda t: 2 - 2 * torch.sqrt(1 - t),
            activation=lambda v: 1 - torch.exp(-v),
            derivative=lambda u: 1 - 1 / u**2,
            conjugate_of_activation=lambda v: 2 - 2 * torch.exp(-v / 2),
            log_ratio=lambda v: v / 2,  # f' = 1 - 1/u² = 1 - exp(-v)
        ),
        FDivergence(  # squared Hellinger; dom f* = t < 1
            "squared_hellinger",
            f=lambda u: (torch.sqrt(u) - 1) ** 2,
            conjugate=lambda t: t / (1 - t),
            activation=lambda v: 1 - torch.exp(-v),
            derivative=lambda u: 1 - 1 / torch.sqrt(u),
            conjugate_of_activation=lambda v: torch.expm1(v),
            log_ratio=lambda v: 2 * v,  # f' = 1 - 1/√u = 1 - exp(-v)
        ),
        FDivergence(  # total variation; dom f* = |t| <= 1/2; f' is a subgradient (0 at u = 1)
            "total_variation",
            f=lambda u: 0.5 * torch.abs(u - 1),
            conjugate=lambda t: t,
            activation=lambda v: 0.5 * torch.tanh(v),
            derivative=lambda u: 0.5 * torch.sign(u - 1),
            conjugate_of_activation=lambda v: 0.5 * torch.tanh(v),
            log_ratio=None,  # f' = sign(u - 1)/2 is constant on u < 1 and on u > 1: no inverse
        ),
    )
}


def f_divergence(name: str) -> FDivergence:
    """The table row called ``name``, or a ValueError listing the valid names."""
    if name not in F_DIVERGENCES:
        raise ValueError(f"unknown f-divergence {name!r}; choose one of {', '.join(F_DIVERGENCES)}")
    return F_DIVERGENCES[name]


def fgan_divergence_estimate(real_v: Tensor, fake_v: Tensor, divergence: FDivergence) -> Tensor:
    """The variational lower bound ``E_P[g_f(V(x))] - E_Q[f*(g_f(V(x)))]`` on ``D_f(P || Q)`` (f-GAN eq. 6)."""
    real_v, fake_v = real_v.float(), fake_v.float()
    return divergence.activation(real_v).mean() - divergence.conjugate_of_activation(fake_v).mean()


def fgan_discriminator_loss(real_v: Tensor, fake_v: Tensor, divergence: FDivergence) -> Tensor:
    """The critic maximises the lower bound: its loss is its negative."""
    return -fgan_divergence_estimate(real_v, fake_v, divergence)


def fgan_generator_loss(fake_v: Tensor, divergence: FDivergence, kind: str = "non_saturating") -> Tensor:
    """``saddle``: minimise ``-E_Q[f*(g_f(V))]`` (the bound itself); ``non_saturating``: maximise ``E_Q[g_f(V)]``
    (f-GAN §3.2, the heuristic the paper trains with: same fixed point, stronger early gradients)."""
    fake_v = fake_v.float()
    if kind == "saddle":
        return -divergence.conjugate_of_activation(fake_v).mean()
    if kind == "non_saturating":
        return -divergence.activation(fake_v).mean()
    raise ValueError(f"unknown f-GAN generator objective {kind!r}; choose 'non_saturating' or 'saddle'")


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


# --- the Cramér GAN (Bellemare et al. 2017, arXiv:1705.10743, Algorithm 1) ----------------------------------------


def _norm(x: Tensor) -> Tensor:
    """Euclidean norm over features, (B, F) -> (B,), with a gradient at 0 (where two codes coincide)."""
    return torch.sqrt(x.float().pow(2).sum(1) + 1e-12)


def cramer_critic(h_x: Tensor, h_reference: Tensor) -> Tensor:
    """``f(x) = ||h(x) - h(x'_g)||₂ - ||h(x)||₂`` per sample (B,), from codes h (B, F) of x and of a second,
    independent generated batch x'_g."""
    return _norm(h_x - h_reference) - _norm(h_x)


def cramer_generator_loss(h_real: Tensor, h_fake: Tensor, h_fake2: Tensor) -> Tensor:
    """The energy distance in code space, ``E||h(x_r) - h(x_g)|| + E||h(x_r) - h(x'_g)|| - E||h(x_g) - h(x'_g)||``,
    from two independent generated batches (its ``E||h(x_r) - h(x'_r)||`` term does not depend on G)."""
    return (_norm(h_real - h_fake) + _norm(h_real - h_fake2) - _norm(h_fake - h_fake2)).mean()


def cramer_surrogate(h_real: Tensor, h_fake: Tensor, h_fake2: Tensor) -> Tensor:
    """``E[f(x_r)] - E[f(x_g)]``, the quantity the critic maximises (before its gradient penalty)."""
    return cramer_critic(h_real, h_fake2).mean() - cramer_critic(h_fake, h_fake2).mean()


# --- energy-based discriminators: EBGAN (Zhao et al. 2016, arXiv:1609.03126), BEGAN (Berthelot et al. 2017) -------


def reconstruction_energy(reconstruction: Tensor, target: Tensor, kind: str = "mse") -> Tensor:
    """Per-image energy (B,): the mean over pixels of the squared (``mse``) or absolute (``l1``) error."""
    error = reconstruction.float() - target.float()
    if kind == "mse":
        return error.pow(2).flatten(1).mean(1)
    if kind == "l1":
        return error.abs().flatten(1).mean(1)
    raise ValueError(f"unknown reconstruction energy {kind!r}; choose 'mse' or 'l1'")


def ebgan_discriminator_loss(real_energy: Tensor, fake_energy: Tensor, margin: float) -> Tensor:
    """``D(x) + [m - D(G(z))]⁺`` (EBGAN eq. 1), averaged over the batch."""
    return real_energy.mean() + torch.clamp(margin - fake_energy, min=0).mean()


def pull_away_term(codes: Tensor) -> Tensor:
    """``1 / (N(N-1)) Σ_i Σ_{j≠i} (S_iᵀS_j / (||S_i|| ||S_j||))²`` (EBGAN eq. 5) of a batch of codes (N, F):
    0 for mutually orthogonal codes, 1 when all codes point the same way."""
    n = codes.shape[0]
    unit = F.normalize(codes.float().flatten(1), dim=1)
    cosine = unit @ unit.T  # (N, N)
    off_diagonal = ~torch.eye(n, dtype=torch.bool, device=codes.device)
    return cosine[off_diagonal].pow(2).sum() / (n * (n - 1))


def began_k_update(k: Tensor, real_loss: Tensor, fake_loss: Tensor, gamma: float, lambda_k: float) -> Tensor:
    """``k_{t+1} = clip(k_t + λ_k (γ L(x) - L(G(z))), 0, 1)`` (BEGAN eq. 4, the proportional control of k)."""
    return torch.clamp(k + lambda_k * (gamma * real_loss - fake_loss), 0.0, 1.0)


def began_convergence(real_loss: Tensor, fake_loss: Tensor, gamma: float) -> Tensor:
    """``M_global = L(x) + |γ L(x) - L(G(z))|`` (BEGAN §3.4.1): falls as training converges."""
    return real_loss + torch.abs(gamma * real_loss - fake_loss)


# --- improved techniques (Salimans et al. 2016, arXiv:1606.03498) ---------------------------------------------------


def feature_matching_loss(real_features: Tensor, fake_features: Tensor) -> Tensor:
    """``||E f(x) - E f(G(z))||₂²`` on discriminator features (B, F) (§3.1)."""
    return (real_features.float().flatten(1).mean(0) - fake_features.float().flatten(1).mean(0)).pow(2).sum()


def historical_averaging_penalty(parameters: Iterable[Tensor], averages: Iterable[Tensor]) -> Tensor:
    """``Σ ||θ - (1/t) Σ_i θ[i]||²`` over matching parameter and running-average tensors (§3.3)."""
    terms = [(p.float() - a.float()).pow(2).sum() for p, a in zip(parameters, averages, strict=True)]
    return torch.stack(terms).sum()
