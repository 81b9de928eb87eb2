"""The original GAN (Goodfellow et al. 2014) and DCGAN (Radford et al. 2015): the same game, different nets; its
``loss`` is the logistic one of the paper, the hinge or the least-squares one (SNGAN, LSGAN and DRAGAN build on it).
"""

import math

import torch
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor

from zoo.arguments import InvalidArgument, LabelFloat, named_choice
from zoo.core.adversarial import AdversarialModel, AdversarialTechniques
from zoo.core.base import LossTerms
from zoo.losses.gan import (
    discriminator_accuracy,
    gan_discriminator_loss,
    gan_generator_loss,
    hinge_discriminator_loss,
    hinge_generator_loss,
    least_squares_discriminator_loss,
    least_squares_generator_loss,
    least_squares_log_density_ratio,
    logistic_log_density_ratio,
)
from zoo.names import did_you_mean
from zoo.nets import DCGANDiscriminator, DCGANGenerator, EncoderFactory, GeneratorFactory, MLPDiscriminator, MLPGenerator
from zoo.registry import register
from zoo.sampling.modes import SamplerNotApplicable, refusal

LOSSES = ("logistic", "hinge", "least_squares")
"""The GAN game's losses (``loss``): D and G losses on D's raw output, see :class:`GAN`."""
HINGE_HAS_NO_RATIO = (
    "but the optimum of the hinge loss, D* = sign(p_data - p_g) clipped to [-1, 1], says where the data is denser "
    "than the generator, not by how much, so no density ratio or energy can be read from it (train with loss "
    "logistic or least_squares to use DRS or DDLS)"
)


def check_least_squares_coding(coding) -> tuple[float, float, float]:
    """``(a, b, c)`` as three floats, refused unless finite with ``a < b`` (D's optimum ``(b p + a q)/(p + q)``
    then lies between a and b, and the ratio (D - a)/(b - D) exists)."""
    values = tuple(coding) if isinstance(coding, (tuple, list)) else ()
    if len(values) != 3 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                                   for v in values):
        raise InvalidArgument(f"least_squares_coding must be three finite numbers (a, b, c), got {coding!r}")
    a, b, c = (float(v) for v in values)
    if not a < b:
        raise InvalidArgument(f"least_squares_coding (a, b, c) = {coding!r} needs a < b: a is D's target for generated "
                              "images and b for real ones (Mao et al.: a = 0, b = c = 1, or a = -1, b = 1, c = 0)")
    return a, b, c


@register(family="gan", paper="Goodfellow et al. 2014, Generative Adversarial Nets, arXiv:1406.2661")
class GAN(AdversarialModel):
    """``min_G max_D E[log D(x)] + E[log(1 - D(G(z)))]`` with k = ``n_critic`` D-steps per G-step; ``loss`` plays
    the same game with other losses on D's raw output d(x):

    =================  ==================================================  =============================
    ``loss``           D minimises                                         G minimises
    =================  ==================================================  =============================
    ``logistic``       ``-E[log σ(d(x))] - E[log(1 - σ(d(G(z))))]``        ``generator_objective``
    ``hinge``          ``E[relu(1 - d(x))] + E[relu(1 + d(G(z)))]``        ``-E[d(G(z))]``
    ``least_squares``  ``½E[(d(x) - b)²] + ½E[(d(G(z)) - a)²]``            ``½E[(d(G(z)) - c)²]``
    =================  ==================================================  =============================

    (hinge: Lim & Ye 2017, Miyato et al. 2018; least squares: Mao et al. 2017, with (a, b, c) =
    ``least_squares_coding``; the formulas are in :mod:`zoo.losses.gan`.)

    DRS and DDLS read ``log p_data/p_g`` from D's optimum (:meth:`log_density_ratio`): the logit for the logistic
    loss, ``log (d - a)/(b - d)`` for least squares; the hinge optimum ``sign(p_data - p_g)`` holds no ratio, so
    both refuse it. With minibatch discrimination D scores batches, not images, so both refuse; with a generator
    EMA they propose from the raw G that D was trained against; where no ratio exists (``sigmoid(logit) >= α``
    under label smoothing α < 1, a least-squares score outside (a, b)) samples are rejected (DRS) or never entered
    (DDLS), with a count.

    Args:
        image_shape: (C, H, W) of the data (linked from the data module).
        latent_dim: size of z ~ N(0, I).
        generator: factory ``(latent_dim, image_shape) -> net`` (tanh is applied to its output).
        discriminator: factory ``(image_shape, 1) -> net`` giving one logit (or score) per image.
        loss: ``logistic`` (the paper's), ``hinge`` or ``least_squares``.
        generator_objective: the logistic loss's G objective: ``non_saturating`` (maximise log D(G(z))) or
            ``minimax`` (minimise log(1 - D(G(z)))).
        n_critic: discriminator steps per generator step (k in Algorithm 1).
        real_label: the logistic loss's target for real images; < 1 is one-sided label smoothing.
        least_squares_coding: (a, b, c) of the least-squares loss: D's target for generated images, D's target for
            real ones (a < b), and the value G wants D to give its images.
        g_optimizer: optimiser factory for G (None: Adam, lr 2e-4, betas (0.5, 0.999)).
        d_optimizer: optimiser factory for D (None: the same).
        techniques: Salimans et al. stabilisers, spectral normalisation and generator EMA (None: the model's
            defaults); see AdversarialTechniques.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        latent_dim: int = 100,
        generator: GeneratorFactory = MLPGenerator,
        discriminator: EncoderFactory = MLPDiscriminator,
        loss: str = "logistic",
        generator_objective: str = "non_saturating",
        n_critic: int = 1,
        real_label: LabelFloat = 1.0,
        least_squares_coding: tuple[float, float, float] = (0.0, 1.0, 1.0),
        g_optimizer: OptimizerCallable | None = None,
        d_optimizer: OptimizerCallable | None = None,
        techniques: AdversarialTechniques | None = None,
    ) -> None:
        super().__init__(
            image_shape, latent_dim, generator, discriminator, n_critic, g_optimizer, d_optimizer, techniques
        )
        if loss not in LOSSES:
            raise InvalidArgument(f"loss: unknown loss {loss!r}; choose {', '.join(LOSSES)}."
                                  + did_you_mean(loss, LOSSES))
        named_choice("generator_objective", gan_generator_loss, torch.zeros(1), generator_objective)
        if loss != "logistic" and (generator_objective != "non_saturating" or real_label != 1.0):
            raise InvalidArgument(f"generator_objective and real_label set the logistic loss; loss {loss!r} has "
                                  "its own targets (leave them at non_saturating and 1.0)")
        self.least_squares_coding = check_least_squares_coding(least_squares_coding)
        if loss != "least_squares" and self.least_squares_coding != (0.0, 1.0, 1.0):
            raise InvalidArgument(f"least_squares_coding sets the least-squares loss; this model's loss is {loss!r}")
        self.loss = loss
        self.generator_objective = generator_objective
        self.real_label = real_label

    def discriminator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        return self.discriminator_terms(self.discriminator(real), self.discriminator(shared["fake"].detach()),
                                        self.real_label)

    def discriminator_terms(self, real_scores: Tensor, fake_scores: Tensor, real_label: float = 1.0) -> LossTerms:
        """D's ``loss`` on its outputs for real and generated images, with its accuracy (at the decision threshold
        0, or (a + b)/2 for least squares) and the mean probability (logistic) or score it gives each side.
        ``real_label`` is the logistic loss's target for real images."""
        if self.loss == "logistic":
            return {
                "loss": gan_discriminator_loss(real_scores, fake_scores, real_label),
                "accuracy": discriminator_accuracy(real_scores, fake_scores),
                "real_prob": torch.sigmoid(real_scores).mean(),
                "fake_prob": torch.sigmoid(fake_scores).mean(),
            }
        if self.loss == "hinge":
            loss, threshold = hinge_discriminator_loss(real_scores, fake_scores), 0.0
        else:
            a, b, _ = self.least_squares_coding
            loss, threshold = least_squares_discriminator_loss(real_scores, fake_scores, a, b), (a + b) / 2
        return {
            "loss": loss,
            "accuracy": discriminator_accuracy(real_scores - threshold, fake_scores - threshold),
            "real_score": real_scores.float().mean(),
            "fake_score": fake_scores.float().mean(),
        }

    def generator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        return self.generator_terms(self.discriminator(shared["fake"]))

    def generator_terms(self, fake_scores: Tensor) -> LossTerms:
        """G's ``loss`` on D's outputs for its images."""
        if self.loss == "hinge":
            return {"loss": hinge_generator_loss(fake_scores)}
        if self.loss == "least_squares":
            return {"loss": least_squares_generator_loss(fake_scores, self.least_squares_coding[2])}
        return {"loss": gan_generator_loss(fake_scores, self.generator_objective)}

    def density_samplers(self) -> tuple[str, ...]:
        return () if self.loss == "hinge" else ("drs", "ddls")

    def log_density_ratio(self, x: Tensor) -> Tensor:
        """``log p_data/p_g`` from D at its optimum (:meth:`ratio_of_scores`)."""
        return self.ratio_of_scores(self.discriminator(x))

    def ratio_of_scores(self, scores: Tensor) -> Tensor:
        """``log p_data/p_g`` from D's outputs at its optimum: ``D* = α p / (p + p_g)`` (logistic, α =
        ``real_label``; the logit when α = 1) or ``D* = (b p + a p_g)/(p + p_g)`` (least squares). The hinge loss's
        optimum gives none."""
        if self.loss == "hinge":
            raise self.sampler_refusal("drs")
        if self.loss == "least_squares":
            return least_squares_log_density_ratio(scores, *self.least_squares_coding[:2])
        return logistic_log_density_ratio(scores, self.real_label)

    def sampler_refusal(self, sampler: str) -> SamplerNotApplicable:
        if self.loss == "hinge":
            return refusal(self, sampler, HINGE_HAS_NO_RATIO)
        return super().sampler_refusal(sampler)

    def evaluate(self, real: Tensor) -> LossTerms:
        fake = self.generate(self.sample_latent(real.shape[0]))
        terms = self.discriminator_terms(self.discriminator(real), self.discriminator(fake))
        return {"d/accuracy": terms["accuracy"], "d/loss": terms["loss"]}


@register(family="gan", paper="Radford et al. 2015, Unsupervised Representation Learning with DCGANs, arXiv:1511.06434")
class DCGAN(GAN):
    """The GAN game with all-convolutional nets, batch norm, N(0, 0.02) init and Adam(2e-4, beta1 = 0.5).

    Args:
        generator: factory ``(latent_dim, image_shape) -> net``; H = W = 4·2^k or 7·2^k (28, 32, 64, ...).
        discriminator: factory ``(image_shape, 1) -> net``.
        **kwargs: every other argument of :class:`GAN`.
    """

    def __init__(
        self, generator: GeneratorFactory = DCGANGenerator, discriminator: EncoderFactory = DCGANDiscriminator, **kwargs
    ) -> None:
        super().__init__(generator=generator, discriminator=discriminator, **kwargs)
