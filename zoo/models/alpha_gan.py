"""α-GAN (Rosca et al. 2017, "VGH/VGH++"): an autoencoder-GAN with a code discriminator and an image discriminator."""

import torch
import torch.nn.functional as F
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor

from zoo.arguments import InvalidArgument, NonNegativeFloat
from zoo.core.autoencoding import code_adversarial_loss, code_discriminator_terms
from zoo.core.base import GenerativeModel, LossTerms, Update
from zoo.losses.gan import (
    discriminator_accuracy,
    gan_discriminator_loss,
    gan_generator_loss,
    logistic_log_density_ratio,
)
from zoo.losses.reconstruction import pixel_mse
from zoo.nets import (
    ConvEncoder,
    DCGANDiscriminator,
    DCGANGenerator,
    EncoderFactory,
    GeneratorFactory,
    LatentDiscriminator,
    LatentFactory,
)
from zoo.registry import register


@register(
    family="hybrid",
    paper="Rosca et al. 2017, Variational Approaches for Auto-Encoding Generative Adversarial Networks, "
    "arXiv:1706.04987",
    name="alpha_gan",
)
class AlphaGAN(GenerativeModel):
    """Replaces both intractable terms of the ELBO by density-ratio estimators (Sec. 4, Algorithm 1): a *code
    discriminator* C tells prior draws z ~ N(0, I) from codes E(x) (in place of the KL term), an *image
    discriminator* D tells data from reconstructions G(E(x)) and samples G(z) (in place of the likelihood's
    "realism"), and a λ-weighted L1 reconstruction keeps G(E(x)) close to x.

    Four players, updated in the order ``d`` (image discriminator), ``c`` (code discriminator), ``g`` (generator)
    and ``e`` (encoder), with ``a(D) = -log D`` (``adversarial_loss: non_saturating``, the default) or
    ``a(D) = -log D/(1 - D)``, minus the logit (``log_ratio``, the paper's Algorithm 1):

    * ``L_G = λ·L1(x, G(E(x))) + a(D(G(E(x)))) + a(D(G(z)))``;
    * ``L_E = λ·L1(x, G(E(x))) + a(C(E(x)))``;
    * ``L1 = mean_pixels |x - x̂|`` (``l1_reduction: mean``, the default) or ``Σ_pixels |x - x̂|`` (``sum``, the
      paper's ``||x - x̂||₁``; λ then weighs the reconstruction C·H·W times more), averaged over the batch, in
      [-1, 1] units. λ = ``reconstruction_weight``.

    The defaults deviate from the paper for short runs (the non-saturating form gives stronger early gradients, the
    mean keeps λ = 10 at the scale of the adversarial terms); ``adversarial_loss: log_ratio`` and ``l1_reduction:
    sum`` give Algorithm 1 exactly.

    Args:
        image_shape: (C, H, W) of the data (linked from the data module).
        latent_dim: size of z.
        encoder: factory ``(image_shape, latent_dim) -> net`` (deterministic).
        generator: factory ``(latent_dim, image_shape) -> net``; tanh is applied to its output.
        discriminator: factory ``(image_shape, 1) -> net``, the image discriminator.
        code_discriminator: factory ``(latent_dim, 1) -> net``.
        reconstruction_weight: λ.
        adversarial_loss: ``non_saturating`` (-log D) or ``log_ratio`` (-log D/(1 - D), the paper's).
        l1_reduction: ``mean`` or ``sum`` (the paper's) over pixels of the reconstruction error.
        e_optimizer: optimiser for the encoder (None: Adam, lr 1e-3, betas (0.5, 0.999):
            5x DCGAN's 2e-4, so that short runs get past the early collapsed phase).
        g_optimizer: optimiser for the generator (None: the same).
        d_optimizer: optimiser for the image discriminator (None: the same).
        c_optimizer: optimiser for the code discriminator (None: the same).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        latent_dim: int = 32,
        encoder: EncoderFactory = ConvEncoder,
        generator: GeneratorFactory = DCGANGenerator,
        discriminator: EncoderFactory = DCGANDiscriminator,
        code_discriminator: LatentFactory = LatentDiscriminator,
        reconstruction_weight: NonNegativeFloat = 10.0,
        adversarial_loss: str = "non_saturating",
        l1_reduction: str = "mean",
        e_optimizer: OptimizerCallable | None = None,
        g_optimizer: OptimizerCallable | None = None,
        d_optimizer: OptimizerCallable | None = None,
        c_optimizer: OptimizerCallable | None = None,
    ) -> None:
        super().__init__(image_shape, latent_dim)
        self.encoder = encoder(self.image_shape, latent_dim)
        self.generator = generator(latent_dim, self.image_shape)
        self.discriminator = discriminator(self.image_shape, 1)
        self.code_discriminator = code_discriminator(latent_dim, 1)
        self.reconstruction_weight = reconstruction_weight
        if adversarial_loss not in ("non_saturating", "log_ratio"):
            raise InvalidArgument(f"unknown adversarial_loss {adversarial_loss!r}; choose non_saturating or log_ratio")
        if l1_reduction not in ("mean", "sum"):
            raise InvalidArgument(
                f"unknown l1_reduction {l1_reduction!r}; choose mean or sum (the paper's ||x - x̂||₁)"
            )
        self.adversarial_loss, self.l1_reduction = adversarial_loss, l1_reduction
        self.optimizers_by_player = {"e": e_optimizer, "g": g_optimizer, "d": d_optimizer, "c": c_optimizer}

    def training_only_nets(self) -> tuple[str, ...]:
        return ("code_discriminator",)  # DRS and DDLS read the image discriminator only

    def players(self):
        nets = {"d": self.discriminator, "c": self.code_discriminator, "g": self.generator, "e": self.encoder}
        return {name: (net, self.optimizers_by_player[name]) for name, net in nets.items()}

    def updates(self) -> list[Update]:
        return [
            Update("d", self.discriminator_loss),
            Update("c", self.code_discriminator_loss),
            Update("g", self.generator_loss),
            Update("e", self.encoder_loss),
        ]

    def default_optimizer(self, player, params):
        return torch.optim.Adam(params, lr=1e-3, betas=(0.5, 0.999))

    def encode(self, x: Tensor) -> Tensor:
        """``E(x)`` (B, latent_dim)."""
        return self.encoder(x)

    def latent_code(self, x: Tensor) -> Tensor:
        """``E(x)``: the code fitted latent priors are fitted to."""
        return self.encode(x)

    def generate(self, z: Tensor) -> Tensor:
        return torch.tanh(self.generator(z))

    def reconstruct(self, x: Tensor) -> Tensor:
        """``G(E(x))`` in [-1, 1]."""
        return self.generate(self.encode(x))

    def prepare(self, real: Tensor, due: set[str]) -> dict:
        with torch.set_grad_enabled("e" in due):  # the code's graph serves the encoder's update (the last one)
            code = self.encode(real)
        return {"code": code, "z": self.sample_latent(real.shape[0])}

    def l1(self, real: Tensor, reconstruction: Tensor) -> Tensor:
        """The reconstruction error per image, mean or summed over pixels, averaged over the batch."""
        error = (reconstruction.float() - real.float()).abs().flatten(1)  # (B, C·H·W)
        return (error.mean(1) if self.l1_reduction == "mean" else error.sum(1)).mean()

    def density_samplers(self) -> tuple[str, ...]:
        return ("drs", "ddls")

    def log_density_ratio(self, x: Tensor) -> Tensor:
        """``log p_data/p_g = logit + log 2``: the image discriminator's optimum is ``p / (p + q_rec + p_g)``, which
        is ``p / (p + 2 p_g)`` when reconstructions are distributed as samples."""
        return logistic_log_density_ratio(self.discriminator(x), fake_batches=2)

    def discriminator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        with torch.no_grad():
            reconstruction, sample = self.generate(shared["code"]), self.generate(shared["z"])
        real_logits = self.discriminator(real)
        recon_logits, sample_logits = self.discriminator(reconstruction), self.discriminator(sample)
        return {
            "loss": gan_discriminator_loss(real_logits, recon_logits) + F.softplus(sample_logits.float()).mean(),
            "accuracy": discriminator_accuracy(real_logits, torch.cat([recon_logits, sample_logits])),
        }

    def code_discriminator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        return code_discriminator_terms(self.code_discriminator, shared["z"], shared["code"])

    def generator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        reconstruction = self.generate(shared["code"].detach())
        l1 = self.l1(real, reconstruction)
        adversarial = gan_generator_loss(self.discriminator(reconstruction), self.adversarial_loss) + \
            gan_generator_loss(self.discriminator(self.generate(shared["z"])), self.adversarial_loss)
        return {"loss": self.reconstruction_weight * l1 + adversarial, "l1": l1, "adversarial": adversarial}

    def encoder_loss(self, real: Tensor, shared: dict) -> LossTerms:
        l1 = self.l1(real, self.generate(shared["code"]))  # through the just-updated generator
        adversarial = code_adversarial_loss(self.code_discriminator, shared["code"], self.adversarial_loss)
        return {"loss": self.reconstruction_weight * l1 + adversarial, "l1": l1, "adversarial": adversarial}

    def evaluate(self, real: Tensor) -> LossTerms:
        return {"recon_mse": pixel_mse(self.reconstruct(real), real)}
