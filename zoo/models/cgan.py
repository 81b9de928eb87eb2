"""Conditional GANs: the GAN game on (image, label) pairs, with the generator's and the discriminator's way of taking
the labels chosen apart (as StudioGAN does). cGAN (Mirza & Osindero 2014) is the default; ACGAN and the projection
cGAN (:mod:`zoo.models.acgan`, :mod:`zoo.models.cgan_pd`) only change its defaults.
"""

from functools import partial

from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor

from zoo.arguments import InvalidArgument, LabelFloat, NonNegativeFloat, PositiveInt
from zoo.core.adversarial import AdversarialTechniques
from zoo.core.base import LossTerms
from zoo.core.conditioning import Conditional, LabelSpace
from zoo.losses.conditional import class_nll, label_accuracy
from zoo.models.gan import GAN
from zoo.names import did_you_mean
from zoo.nets import DCGANDiscriminator, DCGANGenerator, EncoderFactory, GeneratorFactory
from zoo.nets.conditional import DISCRIMINATOR_CONDITIONING, GENERATOR_CONDITIONING
from zoo.registry import register
from zoo.sampling.modes import SamplerNotApplicable, refusal

HINGE_CONDITIONAL = (
    "but the optimum of the hinge loss, D* = sign(p_data - p_g) clipped to [-1, 1], says where the data is denser than "
    "the generator, not by how much, so no density ratio or energy can be read from it, for any class (train with "
    "loss logistic or least_squares: then D(x, y) estimates log p_data(x | y)/p_g(x | y) and DRS and DDLS sample "
    "each class)"
)
CLASSIFIER_RATIO = (
    "but ACGAN's source head judges the image alone: at its optimum it estimates the marginal log p_data(x)/p_g(x) "
    "of the generator's mixture over classes, not log p_data(x | y)/p_g(x | y), so accepting or moving a sample of "
    "class y by it would not target that class's data (the concat and projection discriminators, D(x, y), do)"
)


def _conditioning(argument: str, choice: str, table: dict) -> type:
    if choice not in table:
        raise InvalidArgument(f"{argument}: unknown method {choice!r}; choose {', '.join(table)}."
                              + did_you_mean(choice, table))
    return table[choice]


@register(family="gan", paper="Mirza & Osindero 2014, Conditional Generative Adversarial Nets, arXiv:1411.1784")
class CGAN(Conditional, GAN):
    """``min_G max_D E[log D(x, y)] + E[log(1 - D(G(z, y), y))]`` (Mirza & Osindero 2014, eq. 2): both players see
    the label y, G's labels are the batch's (so the generator's labels follow the data's), and D tells real pairs from
    generated ones.

    How each player takes y (:mod:`zoo.nets.conditional`):

    ==============================  ==========================================================================
    ``generator_conditioning``      ``concat``: G([z, one-hot y]) (the paper's); ``batch_norm``: every batch
                                    norm of G gets per-class γ and β (Miyato & Koyama 2018)
    ``discriminator_conditioning``  ``concat``: y as K constant channels of D's input (the paper's, for a conv D);
                                    ``projection``: ψ(φ(x)) + yᵀVφ(x) (Miyato & Koyama 2018); ``classifier``: an
                                    auxiliary class head, y not fed in (Odena et al. 2017), whose class
                                    log-likelihood terms join both players' losses (weight ``class_weight``)
    ==============================  ==========================================================================

    ``loss`` plays the game on D's score as :class:`~zoo.models.gan.GAN` does (``logistic``, ``hinge``,
    ``least_squares``). Labels are class indices, or for ``label_kind: attributes`` (CelebA) 0/1 vectors, the same
    nets taking either (one-hot or multi-hot; the class head then gives one logit per attribute).

    DRS and DDLS sample per class (:meth:`density_samplers`): the concat and projection D(x, y) estimate
    ``log p_data(x | y)/p_g(x | y)`` under the logistic and least-squares losses; the hinge optimum and the
    classifier's source head (a marginal over classes) are refused. Feature matching and minibatch discrimination
    are refused: both read D's features of images without their labels.

    Args:
        image_shape: (C, H, W) of the data (linked from the data module).
        latent_dim: size of z ~ N(0, I).
        num_classes: K, the classes or attributes (linked from the data module; None: those of ``class_names``, or
            10).
        class_names: the classes' names in label order (linked from the data module; None: their indices).
        label_kind: ``class`` (one class per image) or ``attributes`` (0/1 vectors; linked from the data module;
            None: class).
        generator: factory ``(latent_dim, image_shape) -> net`` (tanh is applied to its output).
        discriminator: factory ``(image_shape, out_features) -> net``.
        generator_conditioning: ``concat`` or ``batch_norm`` (see above).
        discriminator_conditioning: ``concat``, ``projection`` or ``classifier`` (see above).
        class_weight: the weight of the classifier's class terms in both players' losses (``classifier`` only).
        loss: ``logistic`` (the paper's), ``hinge`` or ``least_squares``.
        generator_objective: the logistic loss's G objective: ``non_saturating`` or ``minimax``.
        n_critic: discriminator steps per generator step.
        real_label: the logistic loss's target for real images; < 1 is one-sided label smoothing.
        least_squares_coding: (a, b, c) of the least-squares loss (see GAN).
        g_optimizer: optimiser factory for G (None: Adam, lr 2e-4, betas (0.5, 0.999)).
        d_optimizer: optimiser factory for D (None: the same).
        techniques: spectral normalisation and generator EMA (None: the model's defaults); see
            AdversarialTechniques.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        latent_dim: PositiveInt = 100,
        num_classes: PositiveInt | None = None,
        class_names: tuple[str, ...] | None = None,
        label_kind: str | None = None,
        generator: GeneratorFactory = DCGANGenerator,
        discriminator: EncoderFactory = DCGANDiscriminator,
        generator_conditioning: str = "concat",
        discriminator_conditioning: str = "concat",
        class_weight: NonNegativeFloat = 1.0,
        loss: str = "logistic",
        generator_objective: str = "non_saturating",
        n_critic: PositiveInt = 1,
        real_label: LabelFloat = 1.0,
        least_squares_coding: tuple[float, float, float] = (0.0, 1.0, 1.0),
        g_optimizer: OptimizerCallable | None = None,
        d_optimizer: OptimizerCallable | None = None,
        techniques: AdversarialTechniques | None = None,
    ) -> None:
        space = LabelSpace.of(num_classes, class_names, label_kind)
        wrap_g = _conditioning("generator_conditioning", generator_conditioning, GENERATOR_CONDITIONING)
        wrap_d = _conditioning("discriminator_conditioning", discriminator_conditioning, DISCRIMINATOR_CONDITIONING)
        if discriminator_conditioning != "classifier" and class_weight != 1.0:
            raise InvalidArgument(f"class_weight weighs the class terms of discriminator_conditioning: classifier; "
                                  f"this model's is {discriminator_conditioning!r}")
        if techniques is not None and (techniques.feature_matching or techniques.minibatch_kernels):
            raise InvalidArgument("conditional GANs take neither feature_matching nor minibatch_kernels: both read "
                                  "the discriminator's features of images without their labels")
        super().__init__(
            image_shape=image_shape, latent_dim=latent_dim,
            generator=partial(wrap_g, net=generator, num_classes=space.num_classes),
            discriminator=partial(wrap_d, net=discriminator, num_classes=space.num_classes),
            loss=loss, generator_objective=generator_objective, n_critic=n_critic, real_label=real_label,
            least_squares_coding=least_squares_coding, g_optimizer=g_optimizer, d_optimizer=d_optimizer,
            techniques=techniques,
        )
        self.use_labels(space)
        self.generator_conditioning = generator_conditioning
        self.discriminator_conditioning = discriminator_conditioning
        self.class_weight = class_weight

    def critic(self, x: Tensor, labels: Tensor) -> tuple[Tensor, Tensor | None]:
        """D's score (B, 1) of images ``x`` with ``labels``, and the class head's logits (B, K) (None without
        one)."""
        out = self.discriminator(x, labels)
        if self.discriminator_conditioning != "classifier":
            return out, None
        return out[:, :1], out[:, 1:]

    def discriminator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        labels = shared["labels"]
        real_scores, real_logits = self.critic(real, labels)
        fake_scores, fake_logits = self.critic(shared["fake"].detach(), labels)
        terms = self.discriminator_terms(real_scores, fake_scores, self.real_label)
        if real_logits is None:
            return terms
        real_nll, fake_nll = class_nll(real_logits, labels), class_nll(fake_logits, labels)  # -L_C, in two parts
        return {**terms, "loss": terms["loss"] + self.class_weight * (real_nll + fake_nll),
                "adversarial": terms["loss"], "class_nll_real": real_nll, "class_nll_fake": fake_nll,
                "class_accuracy_real": label_accuracy(real_logits, labels)}

    def generator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        fake_scores, fake_logits = self.critic(shared["fake"], shared["labels"])
        terms = self.generator_terms(fake_scores)
        if fake_logits is None:
            return terms
        fake_nll = class_nll(fake_logits, shared["labels"])
        return {"loss": terms["loss"] + self.class_weight * fake_nll, "adversarial": terms["loss"],
                "class_nll_fake": fake_nll}

    def evaluate(self, real: Tensor, labels: Tensor) -> LossTerms:
        fake = self.generate(self.sample_latent(real.shape[0]), labels)
        (real_scores, real_logits), (fake_scores, fake_logits) = self.critic(real, labels), self.critic(fake, labels)
        terms = self.discriminator_terms(real_scores, fake_scores)
        evaluated = {"d/accuracy": terms["accuracy"], "d/loss": terms["loss"]}
        if real_logits is not None:  # how well the class head reads the classes of data and samples
            evaluated.update({"d/class_accuracy_real": label_accuracy(real_logits, labels),
                              "d/class_accuracy_fake": label_accuracy(fake_logits, labels)})
        return evaluated

    # --- what D estimates: per class --------------------------------------------------------------------------

    def density_samplers(self) -> tuple[str, ...]:
        """DRS and DDLS per class where D(x, y) estimates the class-conditional ratio: the concat and projection
        discriminators under the logistic or least-squares loss. G's labels follow the data's (the batch's), so the
        label marginals cancel: ``D*(x, y)`` gives ``log p_data(x, y)/p_g(x, y) = log p_data(x | y)/p_g(x | y)``."""
        if self.loss == "hinge" or self.discriminator_conditioning == "classifier":
            return ()
        return ("drs", "ddls")

    def log_density_ratio(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        """``log p_data(x | y)/p_g(x | y)`` per image (B,) of images ``x`` with their ``labels`` (one per image),
        from D(x, y) at its optimum (:meth:`~zoo.models.gan.GAN.ratio_of_scores`)."""
        self.require_sampler("drs")
        if labels is None:
            raise InvalidArgument(f"{type(self).__name__}'s discriminator estimates log p_data(x | y)/p_g(x | y): give "
                                  "the images' labels (log_density_ratio(x, labels)).")
        return self.ratio_of_scores(self.critic(x, labels)[0])

    def sampler_refusal(self, sampler: str) -> SamplerNotApplicable:
        if self.loss == "hinge":
            return refusal(self, sampler, HINGE_CONDITIONAL)
        if self.discriminator_conditioning == "classifier":
            return refusal(self, sampler, CLASSIFIER_RATIO)
        return super().sampler_refusal(sampler)
