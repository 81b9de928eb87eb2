"""Wasserstein autoencoder (Tolstikhin et al. 2017): penalised optimal transport with an MMD or GAN latent penalty."""

import torch
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor

from zoo.arguments import InvalidArgument, NonNegativeFloat
from zoo.core.autoencoding import AutoencodingModel, code_adversarial_loss, code_discriminator_terms
from zoo.core.base import LossTerms, Update
from zoo.core.priors import PriorFactory, StandardGaussian
from zoo.losses.mmd import WAE_SCALES, mmd_imq
from zoo.nets import ConvDecoder, ConvEncoder, EncoderFactory, GeneratorFactory, LatentDiscriminator, LatentFactory
from zoo.registry import register

DIVERGENCES = ("mmd", "gan")


@register(family="autoencoder", paper="Tolstikhin et al. 2017, Wasserstein Auto-Encoders, arXiv:1711.01558")
class WAE(AutoencodingModel):
    """Minimises ``E_x c(x, G(E(x))) + λ·D_Z(Q_Z, P_Z)``: the relaxed primal form of the optimal-transport cost
    ``W_c(P_X, P_G)`` over deterministic encoders whose aggregated posterior Q_Z should equal the prior P_Z.

    ``divergence: mmd`` (WAE-MMD, Algorithm 2): ``D_Z`` is the unbiased MMD² estimate with the inverse multiquadratic
    kernel ``C / (C + ||z - z'||²)``, ``C = 2·d·σ²·s`` summed over scales s; one player ``ae``.
    ``divergence: gan`` (WAE-GAN, Algorithm 1): ``D_Z`` is the JS divergence estimated by a code discriminator, which
    is trained first each iteration (player ``d``); the encoder's penalty is ``-log D(E(x))`` (player ``ae``).

    Args:
        image_shape: (C, H, W) of the data (linked from the data module).
        latent_dim: size of z.
        encoder: factory ``(image_shape, latent_dim) -> net``.
        decoder: factory ``(latent_dim, image_shape) -> net``.
        divergence: ``mmd`` or ``gan``.
        penalty_weight: λ.
        prior: factory ``(latent_dim) -> prior`` (the paper's is ``StandardGaussian``).
        reconstruction: the cost c: ``squared`` (the paper's ``||x - x̂||²``), ``l1`` or ``bernoulli``.
        kernel_scales: the scales s of the MMD kernel.
        discriminator: factory ``(latent_dim, 1) -> net`` on codes (``gan`` only).
        ae_optimizer: optimiser for encoder and decoder (None: Adam, lr 1e-3).
        d_optimizer: optimiser for the code discriminator (None: Adam, lr 5e-4, betas (0.5, 0.999)).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        latent_dim: int = 8,
        encoder: EncoderFactory = ConvEncoder,
        decoder: GeneratorFactory = ConvDecoder,
        divergence: str = "mmd",
        penalty_weight: NonNegativeFloat = 10.0,
        prior: PriorFactory = StandardGaussian,
        reconstruction: str = "squared",
        kernel_scales: tuple[float, ...] = WAE_SCALES,
        discriminator: LatentFactory = LatentDiscriminator,
        ae_optimizer: OptimizerCallable | None = None,
        d_optimizer: OptimizerCallable | None = None,
    ) -> None:
        super().__init__(image_shape, latent_dim, encoder, decoder, reconstruction)
        if divergence not in DIVERGENCES:
            raise InvalidArgument(f"unknown latent divergence {divergence!r}; choose one of {DIVERGENCES}")
        self.divergence = divergence
        self.penalty_weight = penalty_weight
        self.prior = prior(latent_dim)
        self.kernel_scales = tuple(kernel_scales)
        self.discriminator = discriminator(latent_dim, 1) if divergence == "gan" else None
        self.ae_optimizer, self.d_optimizer = ae_optimizer, d_optimizer

    def training_only_nets(self) -> tuple[str, ...]:
        return ("discriminator",) if self.divergence == "gan" else ()  # the latent discriminator (WAE-GAN)

    def players(self):
        ae = {"ae": ([self.encoder, self.decoder], self.ae_optimizer)}
        return {"d": (self.discriminator, self.d_optimizer), **ae} if self.divergence == "gan" else ae

    def updates(self) -> list[Update]:
        ae = [Update("ae", self.autoencoder_loss)]
        return [Update("d", self.discriminator_loss), *ae] if self.divergence == "gan" else ae

    def default_optimizer(self, player, params):
        if player == "ae":
            return torch.optim.Adam(params, lr=1e-3)
        return torch.optim.Adam(params, lr=5e-4, betas=(0.5, 0.999))

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return self.prior.sample(n, generator).to(self.device)

    def latent_penalty(self, codes: Tensor) -> Tensor:
        """``D_Z(Q_Z, P_Z)`` estimated on a batch of codes (for ``gan``: the encoder's adversarial loss)."""
        if self.divergence == "mmd":
            prior_codes = self.sample_latent(codes.shape[0])
            return mmd_imq(codes, prior_codes, self.kernel_scales, self.prior.variance)
        return code_adversarial_loss(self.discriminator, codes)

    def discriminator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        with torch.no_grad():
            codes = self.encode(real)
        return code_discriminator_terms(self.discriminator, self.sample_latent(real.shape[0]), codes)

    def autoencoder_loss(self, real: Tensor, shared: dict) -> LossTerms:
        codes = self.encode(real)
        recon, penalty = self.reconstruction_loss(real, codes), self.latent_penalty(codes)
        return {"loss": recon + self.penalty_weight * penalty, "recon": recon, "penalty": penalty}

    def evaluate(self, real: Tensor) -> LossTerms:
        terms = super().evaluate(real)
        if self.divergence == "mmd" and real.shape[0] > 1:  # the U-statistic needs two codes
            terms["mmd"] = self.latent_penalty(self.encode(real))
        return terms
