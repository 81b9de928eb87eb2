"""SNGAN (Miyato et al. 2018): the GAN game with the hinge loss and a spectrally normalised discriminator."""

import torch

from zoo.arguments import PositiveInt
from zoo.models.gan import GAN
from zoo.nets import DCGANGenerator, EncoderFactory, GeneratorFactory, UnnormalisedDCGANDiscriminator
from zoo.registry import register


@register(family="gan", paper="Miyato et al. 2018, Spectral Normalization for Generative Adversarial Networks, "
          "arXiv:1802.05957")
class SNGAN(GAN):
    """The hinge game ``min_D E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]``, ``min_G -E[D(G(z))]`` (the paper's hinge
    loss) with every weight of D used as ``W / σ(W)``, σ estimated by one power iteration per forward pass
    (``techniques.spectral_norm`` is on by default here; :mod:`zoo.nets.spectral`), a discriminator with no batch
    norm, n_dis = 5 and Adam(2e-4, betas (0, 0.9)): the paper's settings for its CIFAR-10 ResNet.

    The hinge optimum ``sign(p_data - p_g)`` holds no density ratio, so DRS and DDLS refuse; with
    ``loss: logistic`` (the paper's other loss) or ``least_squares`` both apply, as for any :class:`GAN`.

    Args:
        generator: factory ``(latent_dim, image_shape) -> net`` (tanh is applied to its output).
        discriminator: factory ``(image_shape, 1) -> net`` giving one score per image; keep normalisation layers
            out of it (they would rescale what spectral normalisation bounds).
        loss: ``hinge`` (default), ``logistic`` or ``least_squares``.
        n_critic: discriminator steps per generator step (n_dis).
        **kwargs: every other argument of :class:`GAN` (optimisers None: Adam, lr 2e-4, betas (0, 0.9)).
    """

    spectral_norm_by_default = True

    def __init__(
        self,
        generator: GeneratorFactory = DCGANGenerator,
        discriminator: EncoderFactory = UnnormalisedDCGANDiscriminator,
        loss: str = "hinge",
        n_critic: PositiveInt = 5,
        **kwargs,
    ) -> None:
        super().__init__(generator=generator, discriminator=discriminator, loss=loss, n_critic=n_critic, **kwargs)

    def default_optimizer(self, player, params):
        return torch.optim.Adam(params, lr=2e-4, betas=(0.0, 0.9))
