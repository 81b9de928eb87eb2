"""The original GAN (Goodfellow et al. 2014) and DCGAN (Radford et al. 2015): the same game, different nets."""

import torch
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor

from zoo.arguments import LabelFloat, named_choice
from zoo.core.adversarial import AdversarialModel, AdversarialTechniques
from zoo.core.base import LossTerms
from zoo.losses.gan import (
    discriminator_accuracy,
    gan_discriminator_loss,
    gan_generator_loss,
    logistic_log_density_ratio,
)
from zoo.nets import DCGANDiscriminator, DCGANGenerator, EncoderFactory, GeneratorFactory, MLPDiscriminator, MLPGenerator
from zoo.registry import register


@register(family="gan", paper="Goodfellow et al. 2014, Generative Adversarial Nets, arXiv:1406.2661")
class GAN(AdversarialModel):
    """``min_G max_D E[log D(x)] + E[log(1 - D(G(z)))]`` with k = ``n_critic`` D-steps per G-step.

    DRS and DDLS read ``log p_data/p_g`` from D's optimum (:meth:`log_density_ratio`). With minibatch
    discrimination D scores batches, not images, so both refuse; with a generator EMA they propose from the raw G
    that D was trained against; under label smoothing (α < 1) no ratio exists where ``sigmoid(logit) >= α``, and
    those samples are rejected (DRS) or never entered (DDLS), with a count.

    Args:
        image_shape: (C, H, W) of the data (linked from the data module).
        latent_dim: size of z ~ N(0, I).
        generator: factory ``(latent_dim, image_shape) -> net`` (tanh is applied to its output).
        discriminator: factory ``(image_shape, 1) -> net`` giving one logit per image.
        generator_objective: ``non_saturating`` (maximise log D(G(z))) or ``minimax`` (minimise log(1 - D(G(z)))).
        n_critic: discriminator steps per generator step (k in Algorithm 1).
        real_label: target for real images in D's loss; < 1 is one-sided label smoothing.
        g_optimizer: optimiser factory for G (None: Adam, lr 2e-4, betas (0.5, 0.999)).
        d_optimizer: optimiser factory for D (None: the same).
        techniques: Salimans et al. stabilisers and generator EMA (None: all off); see AdversarialTechniques.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        latent_dim: int = 100,
        generator: GeneratorFactory = MLPGenerator,
        discriminator: EncoderFactory = MLPDiscriminator,
        generator_objective: str = "non_saturating",
        n_critic: int = 1,
        real_label: LabelFloat = 1.0,
        g_optimizer: OptimizerCallable | None = None,
        d_optimizer: OptimizerCallable | None = None,
        techniques: AdversarialTechniques | None = None,
    ) -> None:
        super().__init__(
            image_shape, latent_dim, generator, discriminator, n_critic, g_optimizer, d_optimizer, techniques
        )
        named_choice("generator_objective", gan_generator_loss, torch.zeros(1), generator_objective)
        self.generator_objective = generator_objective
        self.real_label = real_label

    def discriminator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        real_logits = self.discriminator(real)
        fake_logits = self.discriminator(shared["fake"].detach())
        return {
            "loss": gan_discriminator_loss(real_logits, fake_logits, self.real_label),
            "accuracy": discriminator_accuracy(real_logits, fake_logits),
            "real_prob": torch.sigmoid(real_logits).mean(),
            "fake_prob": torch.sigmoid(fake_logits).mean(),
        }

    def generator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        return {"loss": gan_generator_loss(self.discriminator(shared["fake"]), self.generator_objective)}

    def density_samplers(self) -> tuple[str, ...]:
        return ("drs", "ddls")

    def log_density_ratio(self, x: Tensor) -> Tensor:
        """``log p_data/p_g`` from D at its optimum ``D* = α p / (p + p_g)`` (α = ``real_label``): the logit when
        α = 1."""
        return logistic_log_density_ratio(self.discriminator(x), self.real_label)

    def evaluate(self, real: Tensor) -> LossTerms:
        fake = self.generate(self.sample_latent(real.shape[0]))
        real_logits, fake_logits = self.discriminator(real), self.discriminator(fake)
        return {
            "d/accuracy": discriminator_accuracy(real_logits, fake_logits),
            "d/loss": gan_discriminator_loss(real_logits, fake_logits),
        }


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
