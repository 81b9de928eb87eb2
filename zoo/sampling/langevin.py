"""Discriminator-Driven Latent Sampling (Che et al. 2020, arXiv:2003.06060).

The generator and discriminator together define an energy-based model in latent space,
``E(z) = -log p0(z) - d(G(z))`` with ``p0 = N(0, I)`` and ``d`` the model's :meth:`energy` (the logit of a logistic
discriminator, a Wasserstein critic's value), whose pushforward through G is ``p_t(x) ∝ p_g(x)·e^{d(x)}``.
It is sampled by Langevin dynamics
``z <- z - (ε/2) ∇E(z) + sqrt(ε) · σ · n``, ``n ~ N(0, I)``.

The defaults, :data:`STEPS` steps of size :data:`STEP_SIZE`, run the chain for ``STEPS·STEP_SIZE = 10`` units of
time, five relaxation times ``2/ε`` steps of the prior's own dynamics: from N(0, I) a chain then reaches a target
whose mean is 1.5 away to within 0.03. Where d has no value (NaN: outside the range the discriminator's optimum can
take) the target is taken to be 0: a move that lands there is refused and the chain stays put (counted).
Convergence is read from the chains' memory of their start (:class:`LangevinRun`).
"""

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from zoo.core.base import to_unit_range
from zoo.sampling.labels import resolve_labels
from zoo.sampling.modes import SamplerWarning

STEPS = 1000
STEP_SIZE = 0.01
MEMORY_LIMIT = 0.1
"""Chains have settled when the correlation of their end with their start is not significantly above this."""
MAX_REFUSED = 0.5
"""Chains have diverged when more than this fraction of their moves was refused (they left the ground where d has a
value, rather than meeting a few bad spots) or their states are not finite."""


@dataclass(frozen=True)
class LangevinRun:
    """The end of a set of Langevin chains and how far they can be trusted.

    Attributes:
        z: the chains' final states (B, D).
        steps: Langevin steps run.
        refused: moves refused because d had no value where they landed.
        memory: the correlation across chains between each chain's start and end, averaged over latent
            dimensions: the autocorrelation at lag ``steps`` (``e^{-ε·steps/2}`` for the prior's own dynamics).
            Near 0 the chains have forgotten where they started; near 1 they are close to plain samples.
        memory_error: its standard error when the chains are independent, ``1/sqrt((B - 1)·D)``.
    """

    z: Tensor
    steps: int
    refused: int
    memory: float
    memory_error: float

    @property
    def diverged(self) -> bool:
        """Whether the chains ran away (:data:`MAX_REFUSED`): their end says nothing about the target."""
        return self.refused > MAX_REFUSED * self.steps * len(self.z) or not bool(torch.isfinite(self.z).all())

    @property
    def settled(self) -> bool:
        """Whether ``memory`` is not significantly above :data:`MEMORY_LIMIT` (two standard errors); diverged chains
        have not settled."""
        return not self.diverged and self.memory <= MEMORY_LIMIT + 2 * self.memory_error

    def summary(self) -> str:
        verdict = ("DIVERGED: the chains ran off where d has no value, lower the step size" if self.diverged
                   else "cannot be judged (needs >= 2 chains)" if math.isnan(self.memory) else "settled" if self.settled
                   else "NOT settled: the chains still remember their start, run more steps (or a larger step size)")
        refused = f"; {self.refused} moves refused where d has no value" if self.refused else ""
        return (f"{self.steps} Langevin steps; correlation of the chains' ends with their starts {self.memory:.3f} "
                f"± {self.memory_error:.3f} (settled when <= {MEMORY_LIMIT}): {verdict}{refused}")


def start_end_correlation(start: Tensor, end: Tensor) -> tuple[float, float]:
    """The mean over dimensions of the correlation across chains between ``start`` and ``end`` (B, D), and its
    standard error under independence; NaN for fewer than 2 chains."""
    start, end = start.flatten(1).double().cpu(), end.flatten(1).double().cpu()
    if len(start) < 2:
        return math.nan, math.nan
    start, end = start - start.mean(0), end - end.mean(0)
    correlation = (start * end).sum(0) / (start.norm(dim=0) * end.norm(dim=0))  # (D,)
    return correlation.nanmean().item(), 1 / math.sqrt((len(start) - 1) * start.shape[1])


def check_langevin_settings(steps: int, step_size: float, noise_scale: float) -> None:
    """Refuse settings under which Langevin dynamics is not a sampler (no steps, a non-positive step)."""
    if steps < 1 or step_size <= 0 or noise_scale < 0:
        raise ValueError(f"DDLS needs steps >= 1, step_size > 0 and noise_scale >= 0; got steps={steps}, "
                         f"step_size={step_size}, noise_scale={noise_scale}")


def _energy_and_gradient(z: Tensor, logit: Callable[[Tensor], Tensor] | None) -> tuple[Tensor, Tensor]:
    """``E(z) = ||z||²/2 - d(z)`` per chain (B,) and ``∇E`` (B, D); E is NaN where d is, and there ∇E is the
    prior's alone (so a chain that starts there still moves)."""
    z = z.detach().requires_grad_(True)
    with torch.enable_grad():
        d = logit(z).flatten().float() if logit is not None else z.new_zeros(len(z))
        valid = ~d.isnan()
        energy = 0.5 * z.pow(2).flatten(1).sum(1) - torch.where(valid, d, 0.0)
        (grad,) = torch.autograd.grad(energy.sum(), z)
    return torch.where(valid, energy, torch.nan).detach(), grad


def latent_langevin(
    z: Tensor,
    logit: Callable[[Tensor], Tensor] | None,
    steps: int = STEPS,
    step_size: float = STEP_SIZE,
    noise_scale: float = 1.0,
    generator: torch.Generator | None = None,
) -> LangevinRun:
    """Run ``steps`` Langevin updates of ``z`` (B, D) on ``E(z) = ||z||²/2 - logit(z)`` (``logit`` maps latents to
    (B,) energies d(G(z)), NaN where there is none; None means d ≡ 0, which leaves N(0, I) invariant up to
    discretisation)."""
    check_langevin_settings(steps, step_size, noise_scale)
    start = z = z.detach().clone()
    energy, grad = _energy_and_gradient(z, logit)
    refused = 0
    for _ in range(steps):
        noise = torch.randn(z.shape, generator=generator, dtype=z.dtype).to(z.device)
        moved = (z - 0.5 * step_size * grad + math.sqrt(step_size) * noise_scale * noise).detach()
        moved_energy, moved_grad = _energy_and_gradient(moved, logit)
        keep = moved_energy.isnan() & ~energy.isnan()  # a chain on ground where d has a value stays there
        refused += int(keep.sum())
        stay = keep.view(-1, *[1] * (z.dim() - 1))  # (B, 1, ...)
        z, grad = torch.where(stay, z, moved), torch.where(stay, grad, moved_grad)
        energy = torch.where(keep, energy, moved_energy)
    return LangevinRun(z, steps, refused, *start_end_correlation(start, z))


def ddls(model, n: int, steps: int = STEPS, step_size: float = STEP_SIZE, noise_scale: float = 1.0,
         seed: int | None = None, labels=None) -> tuple[Tensor, LangevinRun]:
    """DDLS samples, images (n, C, H, W) in [0, 1], and their chains: Langevin in z on
    ``E(z) = ||z||²/2 - d(G(z))`` with d the model's :meth:`energy` and G its
    :meth:`~zoo.core.base.GenerativeModel.proposal`, then G(z). Models that cannot serve ``ddls`` are refused.

    A conditional model moves each chain within one class y: ``E(z) = ||z||²/2 - d(G(z, y), y)``, whose d estimates
    ``log p_data(x | y)/p_g(x | y)``; ``labels`` as :func:`~zoo.sampling.labels.resolve_labels` reads them (None:
    drawn as the model draws them, one per chain)."""
    model.require_sampler("ddls")
    if n < 1:
        raise ValueError(f"DDLS draws n >= 1 samples, got {n}")
    model.eval()
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    z0 = model.sample_latent(n, generator)
    chain_labels = resolve_labels(model, labels, n, generator)  # None for an unconditional model
    condition = () if chain_labels is None else (chain_labels,)
    run = latent_langevin(z0, lambda z: model.energy(model.proposal(z, *condition), *condition), steps, step_size,
                          noise_scale, generator)
    with torch.no_grad():
        return to_unit_range(model.proposal(run.z, *condition)), run


def ddls_sample(model, n: int, steps: int = STEPS, step_size: float = STEP_SIZE, noise_scale: float = 1.0,
                seed: int | None = None, labels=None) -> Tensor:
    """The images of :func:`ddls`; a :class:`SamplerWarning` when the chains have not settled or moves were
    refused."""
    images, run = ddls(model, n, steps, step_size, noise_scale, seed, labels)
    if not run.settled or run.refused:
        warnings.warn(SamplerWarning(f"DDLS: {run.summary()}"), stacklevel=2)
    return images
