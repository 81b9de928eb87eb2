"""Discriminator Rejection Sampling (Azadi et al. 2019, arXiv:1810.06758).

With the optimal discriminator, ``D*(x) = p_data / (p_data + p_g)`` and its logit ``d(x) = log p_data(x)/p_g(x)``,
so accepting a generated x with probability ``p_data(x) / (M p_g(x)) = exp(d(x) - d_M)`` (``d_M`` the largest logit)
is exact rejection sampling of p_data. DRS estimates ``d_M`` from a burn-in and keeps it as the running maximum,
and uses ``F(x) = d - d_M - log(1 - exp(d - d_M - ε))`` (the logit of ``exp(d - d_M)``) shifted by ``γ`` to trade
exactness for acceptance rate: accept with probability ``sigmoid(F(x) - γ)``. ``γ = 0`` is exact rejection
sampling; the paper sets ``γ`` per batch to a percentile of F: a high percentile keeps only the samples D likes
best (fewer accepted), a low one accepts more than exact rejection would: to raise a low acceptance
rate, lower the quantile. Optionally the logits are first recalibrated on
held-out real and generated images (logistic regression on the logit), since a trained D is rarely calibrated.
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor


class LowAcceptanceError(RuntimeError):
    """DRS ran out of rounds before accepting the samples asked for."""


class DiscriminatorRejectionSampler:
    """Rejection sampling of a generator's samples by a discriminator's logits.

    Args:
        propose: ``n -> (samples, latents)``: draws n candidate samples (any tensor shape, first dim n).
        logit: ``samples -> (n,)`` the discriminator's logit log p_data/p_g for each sample.
        burn_in: samples used to estimate the maximum logit before sampling.
        gamma_quantile: per-batch quantile of F used as γ (e.g. 0.8 accepts more); None: γ = 0, exact.
        epsilon: keeps ``log(1 - exp(·))`` finite.
        batch_size: candidates drawn per round.
    """

    def __init__(
        self,
        propose: Callable[[int], Tensor],
        logit: Callable[[Tensor], Tensor],
        burn_in: int = 10_000,
        gamma_quantile: float | None = None,
        epsilon: float = 1e-6,
        batch_size: int = 1000,
    ) -> None:
        if burn_in < 1 or batch_size < 1:
            raise ValueError(f"DRS needs burn_in >= 1 and batch_size >= 1 candidates, got {burn_in} and {batch_size}")
        if gamma_quantile is not None and not 0.0 <= gamma_quantile <= 1.0:
            raise ValueError(f"gamma_quantile is a quantile in [0, 1] (or None for exact DRS), got {gamma_quantile}")
        self.propose, self.logit = propose, logit
        self.gamma_quantile, self.epsilon, self.batch_size = gamma_quantile, epsilon, batch_size
        self.scale, self.shift = 1.0, 0.0  # calibration of the logits
        self.max_logit = max(self._logits(self.propose(batch_size)).max().item()
                             for _ in range(max(1, burn_in // batch_size)))
        self.proposed = self.accepted = 0

    def _logits(self, samples: Tensor) -> Tensor:
        return self.logit(samples).flatten().double() * self.scale + self.shift

    def calibrate(self, real: Tensor, fake: Tensor, steps: int = 500) -> None:
        """Fit ``sigmoid(a · logit + b)`` to tell held-out ``real`` from ``fake`` samples, and use a·logit + b."""
        with torch.no_grad():
            logits = torch.cat([self.logit(real).flatten(), self.logit(fake).flatten()]).double()
        targets = torch.cat([torch.ones(len(real)), torch.zeros(len(fake))]).double()
        a, b = torch.ones((), dtype=torch.double, requires_grad=True), torch.zeros((), dtype=torch.double,
                                                                                     requires_grad=True)
        optimizer = torch.optim.LBFGS([a, b], max_iter=steps)

        def closure():
            optimizer.zero_grad()
            loss = F.binary_cross_entropy_with_logits(a * logits + b, targets)
            loss.backward()
            return loss

        optimizer.step(closure)
        self.scale, self.shift = a.item(), b.item()
        with torch.no_grad():
            self.max_logit = max(self.max_logit * self.scale + self.shift, (logits * self.scale + self.shift).max().item())

    def acceptance_probability(self, logits: Tensor) -> Tensor:
        self.max_logit = max(self.max_logit, logits.max().item())
        shifted = logits - self.max_logit
        f = shifted - torch.log1p(-torch.exp(shifted - self.epsilon))
        gamma = torch.quantile(f, self.gamma_quantile) if self.gamma_quantile is not None else 0.0
        return torch.sigmoid(f - gamma)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, max_rounds: int = 10_000) -> Tensor:
        """Draw until ``n`` candidates are accepted; ``acceptance_rate`` reports the cost."""
        if n < 1 or max_rounds < 1:
            raise ValueError(f"DRS draws n >= 1 samples in max_rounds >= 1 rounds, got n={n}, max_rounds={max_rounds}")
        kept, count = [], 0
        for _ in range(max_rounds):
            candidates = self.propose(self.batch_size)
            accept = torch.rand(len(candidates), generator=generator, dtype=torch.double) < \
                self.acceptance_probability(self._logits(candidates)).cpu()
            self.proposed += len(candidates)
            self.accepted += int(accept.sum())
            kept.append(candidates[accept.to(candidates.device)])
            count += int(accept.sum())
            if count >= n:
                return torch.cat(kept)[:n]
        raise LowAcceptanceError(
            f"DRS accepted only {count} of {self.proposed} candidates (acceptance rate {self.acceptance_rate:.2e}); "
            "lower gamma_quantile to accept more (a lower quantile of F as gamma accepts more samples)"
        )

    @property
    def acceptance_rate(self) -> float:
        return self.accepted / max(1, self.proposed)


def drs_for_model(model, burn_in: int = 10_000, gamma_quantile: float | None = 0.8, batch_size: int = 500):
    """A :class:`DiscriminatorRejectionSampler` over a model's generator (images in [-1, 1]) that accepts by its
    :meth:`~zoo.core.base.GenerativeModel.log_density_ratio`; models that do not declare ``drs`` are refused."""
    if "drs" not in model.density_samplers():
        raise model.sampler_refusal("drs")
    model.eval()

    def propose(n: int) -> Tensor:
        return model.generate(model.sample_latent(n))

    return DiscriminatorRejectionSampler(propose, model.log_density_ratio, burn_in, gamma_quantile,
                                         batch_size=batch_size)
