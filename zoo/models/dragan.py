"""DRAGAN (Kodali et al. 2017): the GAN game with a gradient penalty in a neighbourhood of the data."""

from torch import Tensor

from zoo.arguments import NonNegativeFloat
from zoo.core.base import LossTerms
from zoo.losses.critics import dragan_penalty
from zoo.models.gan import GAN
from zoo.nets import DCGANCritic, DCGANGenerator, EncoderFactory, GeneratorFactory
from zoo.registry import register


@register(family="gan", paper="Kodali et al. 2017, On Convergence and Stability of GANs, arXiv:1705.07215")
class DRAGAN(GAN):
    """The GAN game (the logistic loss by default) with ``λ E[(||∇_x̂ D(x̂)||₂ - 1)²]`` added to D's loss at
    perturbed real images ``x̂ = x + α δ``, ``δ = 0.5 · std(x) · u``, u ~ U[0, 1] per pixel, α ~ U[0, 1] per image
    (λ = 10, as in the paper and Lucic et al. 2018), on D's logit, with a layer-norm discriminator: the penalty is
    per sample, which batch norm would couple (as for WGAN-GP).

    DRS and DDLS read the ratio of the chosen ``loss`` (the logit for the logistic one). The penalty holds D away
    from the loss's unconstrained optimum, so that ratio is an approximation, as WGAN-GP's critic only approximates
    the optimal 1-Lipschitz one.

    Mixed precision: the penalty is the gradient of D's raw output at float32 perturbed images, its norm in float32;
    it is part of the loss given to ``manual_backward``, so a 16-mixed GradScaler scales it once with the rest of
    the loss, and under DDP it is reduced by the same backward.

    Args:
        generator: factory ``(latent_dim, image_shape) -> net`` (tanh is applied to its output).
        discriminator: factory ``(image_shape, 1) -> net``; keep batch norm out of it.
        gp_weight: λ, the weight of the gradient penalty.
        **kwargs: every other argument of :class:`GAN` (``loss``, ``n_critic``, optimisers (None: Adam, lr 2e-4,
            betas (0.5, 0.999)), ``techniques``, ...).
    """

    def __init__(
        self,
        generator: GeneratorFactory = DCGANGenerator,
        discriminator: EncoderFactory = DCGANCritic,
        gp_weight: NonNegativeFloat = 10.0,
        **kwargs,
    ) -> None:
        super().__init__(generator=generator, discriminator=discriminator, **kwargs)
        self.gp_weight = gp_weight

    def discriminator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        terms = super().discriminator_loss(real, shared)
        penalty = dragan_penalty(self.discriminator, real)
        return {**terms, "loss": terms["loss"] + self.gp_weight * penalty, "gradient_penalty": penalty}
