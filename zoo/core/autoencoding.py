"""Deterministic autoencoders: an encoder E: x -> z, a decoder: z -> x, and a reconstruction cost c(x, x̂).

The base of AE, DAE, AAE and WAE. Pixels are scored in [0, 1] (the decoder's raw output goes through a sigmoid,
as in :class:`~zoo.core.variational.VariationalModel`), so the ``bernoulli`` cost is a log-likelihood in nats/image.
Models that push their codes towards a prior with an adversary share :func:`code_discriminator_terms` and
:func:`code_adversarial_loss` (AAE, WAE-GAN, α-GAN's code discriminator).
"""

import torch
from torch import Tensor, nn

from zoo.arguments import InvalidArgument
from zoo.core.base import GenerativeModel, LossTerms
from zoo.losses.gan import discriminator_accuracy, gan_discriminator_loss, gan_generator_loss
from zoo.losses.reconstruction import RECONSTRUCTION_COSTS, pixel_mse, reconstruction_cost
from zoo.nets import EncoderFactory, GeneratorFactory


class AutoencodingModel(GenerativeModel):
    """``x -> z = E(x) -> x̂ = sigmoid(decoder(z))`` trained on a reconstruction cost plus whatever a subclass adds.

    Args:
        image_shape: (C, H, W) of the data.
        latent_dim: size of z.
        encoder: factory ``(image_shape, latent_dim) -> net``.
        decoder: factory ``(latent_dim, image_shape) -> net`` giving pre-sigmoid pixels.
        reconstruction: the cost c(x, x̂): ``bernoulli`` (cross-entropy), ``squared`` or ``l1`` (pixels in [0, 1]).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        latent_dim: int,
        encoder: EncoderFactory,
        decoder: GeneratorFactory,
        reconstruction: str = "bernoulli",
    ) -> None:
        super().__init__(image_shape, latent_dim)
        if reconstruction not in RECONSTRUCTION_COSTS:
            raise InvalidArgument(
                f"unknown reconstruction cost {reconstruction!r}; choose one of {RECONSTRUCTION_COSTS}"
            )
        self.encoder = encoder(self.image_shape, latent_dim)
        self.decoder = decoder(latent_dim, self.image_shape)
        self.reconstruction = reconstruction

    def encode(self, x: Tensor) -> Tensor:
        """``x (B, C, H, W) in [-1, 1] -> z (B, latent_dim)``."""
        return self.encoder(x)

    def latent_code(self, x: Tensor) -> Tensor:
        """``E(x)`` (B, latent_dim): the code fitted latent priors are fitted to."""
        return self.encode(x)

    def decode(self, z: Tensor) -> Tensor:
        """``z -> `` the decoder's raw (pre-sigmoid) output (B, C, H, W)."""
        return self.decoder(z)

    def generate(self, z: Tensor) -> Tensor:
        return torch.sigmoid(self.decode(z)) * 2 - 1

    def reconstruct(self, x: Tensor) -> Tensor:
        """``decoder(E(x))`` in [-1, 1]."""
        return self.generate(self.encode(x))

    def reconstruction_loss(self, x: Tensor, z: Tensor) -> Tensor:
        """Mean over the batch of c(x, decoder(z)) for clean targets ``x`` in [-1, 1]."""
        return reconstruction_cost(self.decode(z), (x.float() + 1) / 2, self.reconstruction).mean()

    def default_optimizer(self, player: str, params: list[nn.Parameter]) -> torch.optim.Optimizer:
        return torch.optim.Adam(params, lr=1e-3)

    def evaluate(self, real: Tensor) -> LossTerms:
        z = self.encode(real)
        return {"recon": self.reconstruction_loss(real, z), "recon_mse": pixel_mse(self.generate(z), real)}


def code_discriminator_terms(discriminator: nn.Module, prior_codes: Tensor, codes: Tensor) -> LossTerms:
    """A discriminator on codes: prior draws are "real", encoder codes (detached here) are "fake"."""
    real_logits, fake_logits = discriminator(prior_codes), discriminator(codes.detach())
    return {
        "loss": gan_discriminator_loss(real_logits, fake_logits),
        "accuracy": discriminator_accuracy(real_logits, fake_logits),
    }


def code_adversarial_loss(discriminator: nn.Module, codes: Tensor, kind: str = "non_saturating") -> Tensor:
    """The encoder's adversarial loss, by default the non-saturating ``-E[log D(E(x))]``: make codes look drawn from
    the prior (``kind`` as in :func:`zoo.losses.gan.gan_generator_loss`)."""
    return gan_generator_loss(discriminator(codes), kind)
