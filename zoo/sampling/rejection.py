"""Discriminator Rejection Sampling (Azadi et al. 2019, arXiv:1810.06758).

With the optimal discriminator, ``D*(x) = p_data / (p_data + p_g)`` and its logit ``d(x) = log p_data(x)/p_g(x)``,
so accepting a generated x with probability ``p_data(x) / (M p_g(x)) = exp(d(x) - d_M)`` (``d_M`` the largest logit)
is exact rejection sampling of p_data. DRS estimates ``d_M`` from a burn-in and keeps it as the running maximum,
and uses ``F(x) = d - d_M - log(1 - exp(d - d_M - ε))`` (the logit of ``exp(d - d_M)``) shifted by ``γ`` to trade
exactness for acceptance rate: accept with probability ``sigmoid(F(x) - γ)``. ``γ = 0`` is exact rejection
sampling; the paper sets ``γ`` per batch to a percentile of F: a high percentile keeps only the samples D likes
best (fewer accepted), a low one accepts more than exact rejection would: to raise a low acceptance
rate, lower the quantile.

A trained D is rarely calibrated, so, as the paper does, the scores are first calibrated on held-out data: a
logistic regression ``sigmoid(a·d + b)`` (Platt scaling) fitted to tell held-out real images from as many fresh
proposals, whose ``a·d + b`` is the calibrated log ratio (equal class sizes: prior odds 1). Candidates whose score
is NaN (no ratio exists there, e.g. ``σ >= α`` under one-sided label smoothing, or a least-squares score outside
(a, b)) are rejected and counted.
"""

import warnings
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from zoo.sampling.modes import SamplerWarning


class LowAcceptanceError(RuntimeError):
    """DRS ran out of rounds before accepting the samples asked for."""


class DiscriminatorRejectionSampler:
    """Rejection sampling of a generator's samples by a discriminator's logits.

    Args:
        propose: ``n -> samples``: draws n candidate samples (any tensor shape, first dim n).
        logit: ``samples -> (n,)`` the discriminator's estimate of log p_data/p_g for each sample (NaN: none).
        burn_in: samples used to estimate the maximum logit before sampling.
        gamma_quantile: per-batch quantile of F used as γ (e.g. 0.8 accepts more); None: γ = 0, exact.
        epsilon: keeps ``log(1 - exp(·))`` finite.
        batch_size: candidates drawn per round.
        held_out: real samples not trained on; given, the logits are calibrated on them (:meth:`calibrate`)
            before the burn-in. None: the logits are used as they are.
    """

    def __init__(
        self,
        propose: Callable[[int], Tensor],
        logit: Callable[[Tensor], Tensor],
        burn_in: int = 10_000,
        gamma_quantile: float | None = None,
        epsilon: float = 1e-6,
        batch_size: int = 1000,
        held_out: Tensor | None = None,
    ) -> None:
        if burn_in < 1 or batch_size < 1:
            raise ValueError(f"DRS needs burn_in >= 1 and batch_size >= 1 candidates, got {burn_in} and {batch_size}")
        if gamma_quantile is not None and not 0.0 <= gamma_quantile <= 1.0:
            raise ValueError(f"gamma_quantile is a quantile in [0, 1] (or None for exact DRS), got {gamma_quantile}")
        self.propose, self.logit, self.burn_in = propose, logit, burn_in
        self.gamma_quantile, self.epsilon, self.batch_size = gamma_quantile, epsilon, batch_size
        self.scale, self.shift = 1.0, 0.0  # calibration of the logits: a·d + b
        self.proposed = self.accepted = self.unscored = 0
        if held_out is not None:
            self.calibrate(held_out)
        else:
            self.max_logit = self._burn_in()

    def _logits(self, samples: Tensor) -> Tensor:
        return self.logit(samples).flatten().double() * self.scale + self.shift

    def _burn_in(self) -> float:
        """The largest finite score of ``burn_in`` proposals."""
        scores = torch.cat([self._logits(self.propose(self.batch_size))
                            for _ in range(max(1, self.burn_in // self.batch_size))])
        scored = scores[~scores.isnan()]
        if len(scored) == 0:
            raise ValueError("the discriminator gives no density ratio for any burn-in sample (every score is NaN)")
        return scored.max().item()

    @torch.no_grad()
    def calibrate(self, real: Tensor, steps: int = 500) -> None:
        """Fit ``sigmoid(a·d + b)`` to tell held-out ``real`` samples from as many proposals, use ``a·d + b`` as the
        log ratio from now on, and redo the burn-in under it. Refuses a fit whose slope is not positive (the scores
        rank real and generated samples the wrong way round, or not at all)."""
        self.scale, self.shift = 1.0, 0.0
        scores = torch.cat([self._logits(real), self._logits(self.propose(len(real)))])
        targets = torch.cat([torch.ones(len(real)), torch.zeros(len(scores) - len(real))]).double()
        scored = ~scores.isnan()
        scores, targets = scores[scored], targets[scored]
        a = torch.ones((), dtype=torch.double, requires_grad=True)
        b = torch.zeros((), dtype=torch.double, requires_grad=True)
        optimizer = torch.optim.LBFGS([a, b], max_iter=steps, line_search_fn="strong_wolfe")

        def closure():
            optimizer.zero_grad()
            loss = F.binary_cross_entropy_with_logits(a * scores + b, targets)
            loss.backward()
            return loss

        with torch.enable_grad():
            optimizer.step(closure)
        if not a.item() > 0:
            raise ValueError(f"calibration on {len(real)} held-out images failed: the fitted slope a = {a.item():.3g} "
                             "is not positive, so the discriminator does not tell them from generated ones")
        self.scale, self.shift = a.item(), b.item()
        self.max_logit = self._burn_in()

    def acceptance_probability(self, logits: Tensor) -> Tensor:
        """``sigmoid(F(x) - γ)`` per candidate; 0 where the score is NaN."""
        scored = ~logits.isnan()
        if scored.any():
            self.max_logit = max(self.max_logit, logits[scored].max().item())
        shifted = logits - self.max_logit
        f = shifted - torch.log1p(-torch.exp(shifted - self.epsilon))
        gamma = torch.nanquantile(f, self.gamma_quantile) if self.gamma_quantile is not None and scored.any() else 0.0
        return torch.sigmoid(f - gamma).nan_to_num(nan=0.0)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, max_rounds: int = 10_000) -> Tensor:
        """Draw until ``n`` candidates are accepted; ``acceptance_rate`` reports the cost, ``unscored`` counts the
        candidates rejected for want of a score (a :class:`SamplerWarning` says how many)."""
        if n < 1 or max_rounds < 1:
            raise ValueError(f"DRS draws n >= 1 samples in max_rounds >= 1 rounds, got n={n}, max_rounds={max_rounds}")
        kept, count, proposed, unscored = [], 0, self.proposed, self.unscored
        try:
            for _ in range(max_rounds):
                candidates = self.propose(self.batch_size)
                logits = self._logits(candidates)
                accept = torch.rand(len(candidates), generator=generator, dtype=torch.double) < \
                    self.acceptance_probability(logits).cpu()
                self.proposed += len(candidates)
                self.accepted += int(accept.sum())
                self.unscored += int(logits.isnan().sum())
                kept.append(candidates[accept.to(candidates.device)])
                count += int(accept.sum())
                if count >= n:
                    return torch.cat(kept)[:n]
        finally:
            if self.unscored > unscored:
                warnings.warn(SamplerWarning(
                    f"DRS: {self.unscored - unscored} of {self.proposed - proposed} candidates had no density ratio "
                    "(the discriminator's output lies outside the range its optimum can take, e.g. sigmoid >= "
                    "real_label under one-sided label smoothing, or a least-squares score outside (a, b)) and were "
                    "rejected"), stacklevel=2)
        raise LowAcceptanceError(
            f"DRS accepted only {count} of {self.proposed} candidates (acceptance rate {self.acceptance_rate:.2e}); "
            "lower gamma_quantile to accept more (a lower quantile of F as gamma accepts more samples)"
        )

    @property
    def acceptance_rate(self) -> float:
        return self.accepted / max(1, self.proposed)


def drs_for_model(model, burn_in: int = 10_000, gamma_quantile: float | None = 0.8, batch_size: int = 500,
                  held_out: Tensor | None = None, label: Tensor | None = None) -> DiscriminatorRejectionSampler:
    """A :class:`DiscriminatorRejectionSampler` over the model's :meth:`~zoo.core.base.GenerativeModel.proposal`
    (images in [-1, 1]) that accepts by its :meth:`~zoo.core.base.GenerativeModel.log_density_ratio`, calibrated
    on ``held_out`` real images in [0, 1] when given; models that cannot serve ``drs`` are refused.

    A conditional model samples one class: ``label`` (a class index, or an attribute vector) is given to G and D,
    so the proposals are ``G(z, y)``, accepted by ``D(x, y)``'s estimate of ``log p_data(x | y)/p_g(x | y)``: exact
    rejection sampling of ``p_data(x | y)``; ``held_out`` are then images of that class."""
    model.require_sampler("drs")
    if model.conditional and label is None:
        raise ValueError(f"{type(model).__name__} samples by DRS one class at a time: give the class (label=)")
    model.eval()
    one = None if label is None else label.to(model.device).reshape(1, -1 if model.label_kind == "attributes" else 1)
    if one is not None and model.label_kind != "attributes":
        one = one.reshape(1)

    def condition(n: int) -> tuple[Tensor, ...]:
        return () if one is None else (one.expand(n, *one.shape[1:]),)

    def propose(n: int) -> Tensor:
        return model.proposal(model.sample_latent(n), *condition(n))

    def logit(x: Tensor) -> Tensor:
        return model.log_density_ratio(x, *condition(len(x)))

    real = None if held_out is None else held_out.to(model.device) * 2 - 1
    return DiscriminatorRejectionSampler(propose, logit, burn_in, gamma_quantile, batch_size=batch_size,
                                         held_out=real)


MIN_CALIBRATION_IMAGES = 20
"""Held-out images of a class below which DRS does not calibrate that class's discriminator scores."""


def drs_per_class(model, labels: Tensor, generator: torch.Generator | None = None, gamma_quantile: float | None = 0.8,
                  held_out: Tensor | None = None, held_out_labels: Tensor | None = None, burn_in: int = 10_000,
                  batch_size: int = 500) -> tuple[Tensor, dict]:
    """DRS samples of a conditional model, image i of class ``labels[i]``: one sampler per distinct label (its own
    burn-in, a share of ``burn_in``, and its own calibration on the ``held_out`` images of that label). Returns the
    images (n, C, H, W) in [-1, 1] and the samplers by label index (``labels.unique``'s order)."""
    distinct, which = labels.unique(dim=0, return_inverse=True)
    images: Tensor | None = None
    samplers = {}
    for j, label in enumerate(distinct):
        real = None
        if held_out is not None:
            same = held_out_labels.to(label.device) == label
            same = same.all(-1) if same.dim() > 1 else same
            real = held_out[same.cpu()]
            if len(real) < MIN_CALIBRATION_IMAGES:
                raise ValueError(f"only {len(real)} held-out images carry the label {label.tolist()}, too few to "
                                 f"calibrate the discriminator on (at least {MIN_CALIBRATION_IMAGES}); give more "
                                 "calibration images, or sample without calibration")
        sampler = drs_for_model(model, max(batch_size, burn_in // len(distinct)), gamma_quantile, batch_size, real,
                                label=label)
        index = (which == j).nonzero().flatten()
        accepted = sampler.sample(len(index), generator)
        if images is None:
            images = accepted.new_empty((len(labels), *accepted.shape[1:]))
        images[index.to(images.device)] = accepted
        samplers[j] = sampler
    return images, samplers
