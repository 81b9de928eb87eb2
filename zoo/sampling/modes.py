"""Which sampling modes apply to a model, and the one refusal for a discriminator-driven sampler that does not.

DRS needs ``log p_data(x)/p_g(x)`` (:meth:`GenerativeModel.log_density_ratio`) and DDLS an energy ``d(x)`` with
``p_t(x) ∝ p_g(x)·e^{d(x)}`` (:meth:`GenerativeModel.energy`); a model declares which of them its discriminator
estimates in :meth:`GenerativeModel.density_samplers`, and the samplers use nothing else.
"""

MODES = ("plain", "interpolate", "reconstruct", "arithmetic", "neighbours", "drs", "ddls")
DENSITY_SAMPLERS = {"drs": "log p_data(x)/p_g(x)", "ddls": "an energy d(x) with p_t ∝ p_g·e^d"}


class SamplerNotApplicable(ValueError):
    """A discriminator-driven sampler was asked of a model whose discriminator does not estimate its quantity."""


class SamplerWarning(UserWarning):
    """A discriminator-driven sampler ran, but found no valid score for some samples (outside the range the
    discriminator's optimum can take) or chains that had not settled."""


def applicable_modes(model) -> tuple[str, ...]:
    """The ``zoo sample`` modes that apply to ``model``: encoder modes need ``reconstruct``/``encode``, DRS and
    DDLS need the model to declare them and no :meth:`~zoo.core.base.GenerativeModel.sampler_obstacle`."""
    encoder = hasattr(model, "reconstruct") and hasattr(model, "encode")
    supported = set(model.density_samplers()) if model.sampler_obstacle() is None else set()
    return tuple(m for m in MODES if (m not in ("reconstruct", "arithmetic") or encoder)
                 and (m not in DENSITY_SAMPLERS or m in supported))


def refusal(model, sampler: str, reason: str | None = None) -> SamplerNotApplicable:
    """The error for ``sampler`` (``drs`` or ``ddls``) on a model that does not declare it, naming the model, the
    quantity the sampler needs (or ``reason``) and the modes that do apply."""
    name = type(model).__name__
    reason = reason or f"which no discriminator of {name} estimates"
    return SamplerNotApplicable(
        f"{sampler.upper()} does not apply to {name}: it needs {DENSITY_SAMPLERS[sampler]}, {reason}; "
        f"samplers that apply to {name}: {', '.join(applicable_modes(model))}"
    )
