"""The projection-discriminator cGAN (Miyato & Koyama 2018) as mimicry's cGAN-PD: conditional batch norm in G, a
spectrally normalised projection discriminator, the hinge loss."""

import torch

from zoo.arguments import PositiveInt
from zoo.models.cgan import CGAN
from zoo.nets import DCGANGenerator, EncoderFactory, GeneratorFactory, UnnormalisedDCGANDiscriminator
from zoo.registry import register


@register(family="gan", paper="Miyato & Koyama 2018, cGANs with Projection Discriminator, arXiv:1802.05637",
          name="cgan_pd")
class CGANPD(CGAN):
    """``D(x, y) = ψ(φ(x)) + yᵀ V φ(x)`` (eq. 3): the log-likelihood ratio ``log p_data(y | x)/p_g(y | x)`` of a
    softmax class model, written as an inner product of the label's embedding V y with D's features φ(x), plus the
    unconditional ``ψ(φ(x))``; every weight of D (V included) spectrally normalised (Miyato et al. 2018), the hinge
    loss ``E[relu(1 - D(x, y))] + E[relu(1 + D(G(z, y), y))]`` for D and ``-E[D(G(z, y), y)]`` for G, and conditional
    batch norm in G (every batch norm with per-class γ and β; §4 and mimicry's cGAN-PD). Defaults as SNGAN: a
    discriminator without normalisation layers and with torch's initialisation, n_dis = 5, Adam(2e-4, betas
    (0, 0.9)), the paper's CIFAR-10 setting.

    The hinge optimum holds no density ratio, so DRS and DDLS are refused; with ``loss: logistic`` (or
    ``least_squares``) D's optimum is the class-conditional ratio, and DRS and DDLS sample each class by it (see
    :class:`~zoo.models.cgan.CGAN`).

    Args:
        generator: factory ``(latent_dim, image_shape) -> net`` with batch norm (DCGAN's, the residual one).
        discriminator: factory ``(image_shape, 1) -> net`` with ``features`` and a linear ``head``; keep
            normalisation layers out of it.
        generator_conditioning: ``batch_norm`` (the paper's); see CGAN.
        discriminator_conditioning: ``projection`` (the paper's); see CGAN.
        loss: ``hinge`` (default), ``logistic`` or ``least_squares``.
        n_critic: discriminator steps per generator step (n_dis).
        **kwargs: every other argument of :class:`~zoo.models.cgan.CGAN` (optimisers None: Adam, lr 2e-4,
            betas (0, 0.9)).
    """

    spectral_norm_by_default = True

    def __init__(
        self,
        generator: GeneratorFactory = DCGANGenerator,
        discriminator: EncoderFactory = UnnormalisedDCGANDiscriminator,
        generator_conditioning: str = "batch_norm",
        discriminator_conditioning: str = "projection",
        loss: str = "hinge",
        n_critic: PositiveInt = 5,
        **kwargs,
    ) -> None:
        super().__init__(generator=generator, discriminator=discriminator,
                         generator_conditioning=generator_conditioning,
                         discriminator_conditioning=discriminator_conditioning, loss=loss, n_critic=n_critic, **kwargs)

    def default_optimizer(self, player, params):
        return torch.optim.Adam(params, lr=2e-4, betas=(0.0, 0.9))
