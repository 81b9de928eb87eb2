"""Adversarial autoencoder (Makhzani et al. 2015): a discriminator on codes replaces the VAE's KL term."""

import torch
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor

from zoo.arguments import NonNegativeFloat
from zoo.core.autoencoding import AutoencodingModel, code_adversarial_loss, code_discriminator_terms
from zoo.core.base import LossTerms, Update
from zoo.core.priors import PriorFactory, StandardGaussian
from zoo.nets import ConvDecoder, ConvEncoder, EncoderFactory, GeneratorFactory, LatentDiscriminator, LatentFactory
from zoo.registry import register


@register(family="autoencoder", paper="Makhzani et al. 2015, Adversarial Autoencoders, arXiv:1511.05644")
class AAE(AutoencodingModel):
    """Each iteration runs the paper's two phases (Sec. 2): *reconstruction* (encoder and decoder minimise
    ``c(x, decoder(E(x)))``), then *regularisation*: the code discriminator D learns to tell prior draws z ~ p(z) from
    codes E(x), and the encoder, as D's generator, learns to fool it (``-log D(E(x))``). When D is beaten the
    aggregated posterior q(z) = E_x[δ(z - E(x))] matches p(z), so decoding prior draws gives data.

    Players, in order: ``ae`` (encoder + decoder), ``d`` (code discriminator), ``e`` (encoder, adversarially).

    Args:
        image_shape: (C, H, W) of the data (linked from the data module).
        latent_dim: size of z.
        encoder: factory ``(image_shape, latent_dim) -> net`` (deterministic, as in the paper's experiments).
        decoder: factory ``(latent_dim, image_shape) -> net``.
        discriminator: factory ``(latent_dim, 1) -> net`` on codes.
        prior: factory ``(latent_dim) -> prior``: ``zoo.core.priors.StandardGaussian`` or
            ``zoo.core.priors.MixtureOfGaussians`` (components on a circle).
        reconstruction: ``bernoulli``, ``squared`` or ``l1``.
        adversarial_weight: weight of the encoder's adversarial loss.
        ae_optimizer: optimiser for the reconstruction phase (None: Adam, lr 1e-3).
        d_optimizer: optimiser for the code discriminator (None: Adam, lr 2e-4, betas (0.5, 0.999)).
        e_optimizer: optimiser for the encoder's adversarial phase (None: Adam, lr 2e-4, betas (0.5, 0.999)).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        latent_dim: int = 8,
        encoder: EncoderFactory = ConvEncoder,
        decoder: GeneratorFactory = ConvDecoder,
        discriminator: LatentFactory = LatentDiscriminator,
        prior: PriorFactory = StandardGaussian,
        reconstruction: str = "bernoulli",
        adversarial_weight: NonNegativeFloat = 1.0,
        ae_optimizer: OptimizerCallable | None = None,
        d_optimizer: OptimizerCallable | None = None,
        e_optimizer: OptimizerCallable | None = None,
    ) -> None:
        super().__init__(image_shape, latent_dim, encoder, decoder, reconstruction)
        self.discriminator = discriminator(latent_dim, 1)
        self.prior = prior(latent_dim)
        self.adversarial_weight = adversarial_weight
        self.ae_optimizer, self.d_optimizer, self.e_optimizer = ae_optimizer, d_optimizer, e_optimizer

    def training_only_nets(self) -> tuple[str, ...]:
        return ("discriminator",)  # the latent discriminator shapes q(z) during training only

    def players(self):
        return {
            "ae": ([self.encoder, self.decoder], self.ae_optimizer),
            "d": (self.discriminator, self.d_optimizer),
            "e": (self.encoder, self.e_optimizer),
        }

    def updates(self) -> list[Update]:
        return [
            Update("ae", self.reconstruction_phase),
            Update("d", self.discriminator_loss),
            Update("e", self.encoder_loss),
        ]

    def default_optimizer(self, player, params):
        if player == "ae":
            return torch.optim.Adam(params, lr=1e-3)
        return torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999))

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return self.prior.sample(n, generator).to(self.device)

    def reconstruction_phase(self, real: Tensor, shared: dict) -> LossTerms:
        return {"loss": self.reconstruction_loss(real, self.encode(real))}

    def discriminator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        with torch.no_grad():
            codes = self.encode(real)
        return code_discriminator_terms(self.discriminator, self.sample_latent(real.shape[0]), codes)

    def encoder_loss(self, real: Tensor, shared: dict) -> LossTerms:
        return {"loss": self.adversarial_weight * code_adversarial_loss(self.discriminator, self.encode(real))}
