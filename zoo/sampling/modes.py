"""Which sampling modes apply to a model, and the one refusal for a discriminator-driven sampler that does not.

DRS needs ``log p_data(x)/p_g(x)`` (:meth:`GenerativeModel.log_density_ratio`) and DDLS an energy ``d(x)`` with
``p_t(x) ∝ p_g(x)·e^{d(x)}`` (:meth:`GenerativeModel.energy`); a model declares which of them its discriminator
estimates in :meth:`GenerativeModel.density_samplers`, and the samplers use nothing else. The ``codes`` grid needs
interpretable latent codes (:meth:`GenerativeModel.latent_codes`, InfoGAN's); :func:`codes_refusal` names the models
that have them. The ``classes`` grid needs a conditional model (``model.conditional``); latent ``arithmetic`` on
class means needs an unconditional encoder (a conditional one's code leaves the class out).
"""

MODES = ("plain", "interpolate", "reconstruct", "arithmetic", "codes", "classes", "neighbours", "drs", "ddls")
DENSITY_SAMPLERS = {"drs": "log p_data(x)/p_g(x)", "ddls": "an energy d(x) with p_t ∝ p_g·e^d"}


class SamplerNotApplicable(ValueError):
    """A discriminator-driven sampler was asked of a model whose discriminator does not estimate its quantity."""


class SamplerWarning(UserWarning):
    """A discriminator-driven sampler ran, but found no valid score for some samples (outside the range the
    discriminator's optimum can take) or chains that had not settled."""


def applicable_modes(model) -> tuple[str, ...]:
    """The ``zoo sample`` modes that apply to ``model``: encoder modes need ``reconstruct``/``encode`` (and
    ``arithmetic`` an unconditional model), ``codes`` needs :meth:`~zoo.core.base.GenerativeModel.latent_codes`,
    ``classes`` a conditional model, DRS and DDLS need the model to declare them and no
    :meth:`~zoo.core.base.GenerativeModel.sampler_obstacle`."""
    encoder = hasattr(model, "reconstruct") and hasattr(model, "encode")
    codes = hasattr(model, "latent_codes") and model.latent_codes() is not None
    conditional = getattr(model, "conditional", False)
    supported = set(model.density_samplers()) if model.sampler_obstacle() is None else set()
    refused = refused_modes(model)
    return tuple(m for m in MODES if m not in refused and (m not in ("reconstruct", "arithmetic") or encoder)
                 and (m != "arithmetic" or not conditional)
                 and (m != "codes" or codes)
                 and (m != "classes" or conditional)
                 and (m not in DENSITY_SAMPLERS or m in supported))


def refused_modes(model) -> dict[str, str]:
    """The modes a model refuses for a reason of its own, ``{mode: reason}``: what its ``inapplicable_modes()`` says
    (e.g. VQ-VAE: no interpolation or arithmetic between grids of discrete codes); ``{}`` for a model without it."""
    declared = getattr(model, "inapplicable_modes", None)
    return dict(declared()) if callable(declared) else {}


def mode_refusal(model, mode: str) -> SamplerNotApplicable:
    """The error for ``mode`` on a model that refuses it in :func:`refused_modes`, naming its reason and the modes
    that apply."""
    name = type(model).__name__
    return SamplerNotApplicable(f"{mode} does not apply to {name}: {refused_modes(model)[mode]}; "
                                f"modes that apply: {', '.join(applicable_modes(model))}")


def check_mode(model, mode: str) -> None:
    """Raise :func:`mode_refusal` when ``model`` refuses ``mode`` for a reason of its own."""
    if mode in refused_modes(model):
        raise mode_refusal(model, mode)


def models_with_codes() -> list[str]:
    """The registered models whose latent can hold interpretable codes (a class below the base overrides
    ``latent_codes``; read from the classes, so this module need not import the base that imports it)."""
    from zoo.registry import list_models

    def overrides(cls: type) -> bool:
        return any("latent_codes" in vars(klass) for klass in cls.__mro__ if klass.__module__ != "zoo.core.base")

    return [e.name for e in list_models() if overrides(e.cls)]


def codes_refusal(model) -> SamplerNotApplicable:
    """The error for ``--mode codes`` on a model without latent codes, naming the models that have them and the
    modes that apply."""
    name = type(model).__name__
    return SamplerNotApplicable(
        f"codes does not apply to {name}: it varies one latent code at a time, and {name} has no interpretable codes "
        f"in its latent (models with codes: {', '.join(models_with_codes())}); modes that apply to {name}: "
        f"{', '.join(applicable_modes(model))}"
    )


def refusal(model, sampler: str, reason: str | None = None) -> SamplerNotApplicable:
    """The error for ``sampler`` (``drs`` or ``ddls``) on a model that does not declare it, naming the model, the
    quantity the sampler needs (or ``reason``) and the modes that do apply."""
    name = type(model).__name__
    reason = reason or f"which no discriminator of {name} estimates"
    return SamplerNotApplicable(
        f"{sampler.upper()} does not apply to {name}: it needs {DENSITY_SAMPLERS[sampler]}, {reason}; "
        f"samplers that apply to {name}: {', '.join(applicable_modes(model))}"
    )
