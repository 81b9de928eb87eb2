"""Autoencoder (Hinton & Salakhutdinov 2006) and denoising autoencoder (Vincent et al. 2008).

Neither has a prior over codes, so to give ``sample`` a meaning both keep a running Gaussian fit N(m, C) of the
codes seen in training and decode draws from it: the simplest ex-post density estimate of the code space (Ghosh et
al. 2020, "From Variational to Deterministic Autoencoders", fit a Gaussian or a mixture in the same way).
"""

import torch
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor

from zoo.arguments import InvalidArgument, UnitFloat
from zoo.core.autoencoding import AutoencodingModel
from zoo.core.base import LossTerms, Update
from zoo.losses.reconstruction import NOISE_TYPES, corrupt
from zoo.nets import ConvDecoder, ConvEncoder, EncoderFactory, GeneratorFactory
from zoo.registry import register


@register(
    family="autoencoder",
    paper="Hinton & Salakhutdinov 2006, Reducing the Dimensionality of Data with Neural Networks, Science 313",
    name="ae",
)
class Autoencoder(AutoencodingModel):
    """Minimises ``c(x, decoder(E(x)))``; samples decode z ~ N(m, C), a running fit of the training codes.

    Args:
        image_shape: (C, H, W) of the data (linked from the data module).
        latent_dim: size of the code z.
        encoder: factory ``(image_shape, latent_dim) -> net``.
        decoder: factory ``(latent_dim, image_shape) -> net``.
        reconstruction: ``bernoulli`` (cross-entropy), ``squared`` or ``l1``.
        code_momentum: weight of each batch in the running code mean and covariance (after the first 1/momentum
            batches, which are averaged equally).
        optimizer: optimiser factory for encoder and decoder (None: Adam, lr 1e-3).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        latent_dim: int = 16,
        encoder: EncoderFactory = ConvEncoder,
        decoder: GeneratorFactory = ConvDecoder,
        reconstruction: str = "bernoulli",
        code_momentum: UnitFloat = 0.01,
        optimizer: OptimizerCallable | None = None,
    ) -> None:
        super().__init__(image_shape, latent_dim, encoder, decoder, reconstruction)
        self.code_momentum = code_momentum
        self.optimizer = optimizer
        self.register_buffer("code_mean", torch.zeros(latent_dim))
        self.register_buffer("code_covariance", torch.eye(latent_dim))  # N(0, I) until training has seen codes
        self.register_buffer("code_batches", torch.zeros((), dtype=torch.long))

    def players(self):
        return {"ae": ([self.encoder, self.decoder], self.optimizer)}

    def updates(self) -> list[Update]:
        return [Update("ae", self.autoencoder_loss)]

    def corrupt_inputs(self, x: Tensor) -> Tensor:
        """What the encoder sees in training (the clean images here; a corruption in the denoising AE)."""
        return x

    def autoencoder_loss(self, real: Tensor, shared: dict) -> LossTerms:
        z = self.encode(self.corrupt_inputs(real))  # (B, latent_dim)
        self.track_codes(z.detach())
        return {"loss": self.reconstruction_loss(real, z)}

    @torch.no_grad()
    def track_codes(self, z: Tensor) -> None:
        """Fold a batch of codes into the running mean and covariance (in float32, also under mixed precision)."""
        weight = max(self.code_momentum, 1.0 / (int(self.code_batches) + 1))
        z = z.float()
        mean = z.mean(0)
        centred = z - mean
        with torch.autocast(z.device.type, enabled=False):  # autocast would run the product in bf16/fp16
            covariance = centred.T @ centred / max(len(z) - 1, 1)
        self.code_mean.lerp_(mean, weight)
        self.code_covariance.lerp_(covariance, weight)
        self.code_batches += 1

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` codes from N(m, C), the Gaussian fitted to the training codes (N(0, I) before training)."""
        eps = torch.randn(n, self.latent_dim, generator=generator).to(self.device)
        jitter = 1e-5 * torch.eye(self.latent_dim, device=self.device)
        scale = torch.linalg.cholesky(self.code_covariance.float() + jitter)  # C = L Lᵀ
        return self.code_mean.float() + eps @ scale.T


@register(
    family="autoencoder",
    paper="Vincent et al. 2008, Extracting and Composing Robust Features with Denoising Autoencoders, ICML",
    name="dae",
)
class DenoisingAutoencoder(Autoencoder):
    """Reconstructs clean images from corrupted ones: minimises ``c(x, decoder(E(x̃)))`` with ``x̃ ~ q(x̃|x)``.

    Args:
        noise: the corruption: ``gaussian`` (additive, std ``noise_level`` in [-1, 1] units), ``masking`` (a
            fraction ``noise_level`` of pixels set to black) or ``salt_and_pepper`` (a fraction set to black/white).
        noise_level: the corruption's strength (see ``noise``).
        **kwargs: every argument of :class:`Autoencoder`.
    """

    def __init__(self, noise: str = "masking", noise_level: UnitFloat = 0.25, **kwargs) -> None:
        super().__init__(**kwargs)
        if noise not in NOISE_TYPES:
            raise InvalidArgument(f"unknown noise type {noise!r}; choose one of {NOISE_TYPES}")
        self.noise = noise
        self.noise_level = noise_level

    def corrupt_inputs(self, x: Tensor) -> Tensor:
        return corrupt(x, self.noise, self.noise_level)
