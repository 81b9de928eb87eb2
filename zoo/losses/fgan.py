"""f-GAN: the f-divergence table, its variational bound, and the density ratio its optimal critic gives."""

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from zoo.losses.gan import log_or_nan


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
            and written in ``v`` (what DRS and DDLS need), NaN where ``v`` lies outside the range the optimum can
            take; None where f' cannot be inverted.
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
            log_ratio=lambda v: log_or_nan(1 + v / 2),  # u = 1 + T/2 > 0 at the optimum; NaN where T <= -2
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
