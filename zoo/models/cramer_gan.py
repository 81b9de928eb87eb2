"""Cramér GAN (Bellemare et al. 2017): the energy distance in a learned code space, with a gradient penalty.

The critic net h maps images to codes (B, code_dim). With two independent generated batches x_g, x'_g, the critic
function is ``f(x) = ||h(x) - h(x'_g)||₂ - ||h(x)||₂``; the critic maximises ``E f(x_r) - E f(x_g)`` under a
WGAN-GP-style penalty on ``f``, and the generator minimises the energy distance between real and generated codes
(Algorithm 1). Unlike the Wasserstein critic's, the sample gradients of the energy distance are unbiased.
"""

import torch
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor

from zoo.arguments import PositiveInt, NonNegativeFloat
from zoo.core.adversarial import AdversarialModel, AdversarialTechniques
from zoo.core.base import LossTerms
from zoo.losses.critics import (
    cramer_critic,
    cramer_energy,
    cramer_generator_loss,
    cramer_surrogate,
    gradient_norm_penalty,
    interpolates,
)
from zoo.nets import DCGANCritic, DCGANGenerator, EncoderFactory, GeneratorFactory
from zoo.registry import register


@register(family="gan", paper="Bellemare et al. 2017, The Cramer Distance as a Solution to Biased Wasserstein "
          "Gradients, arXiv:1705.10743")
class CramerGAN(AdversarialModel):
    """Generator loss ``E||h(x_r) - h(x_g)|| + E||h(x_r) - h(x'_g)|| - E||h(x_g) - h(x'_g)||``; critic loss
    ``-(E f(x_r) - E f(x_g)) + λ E[(||∇f(x̂)||₂ - 1)²]`` (λ = 10, Adam(1e-4, betas (0.5, 0.999))).

    Args:
        image_shape: (C, H, W) of the data (linked from the data module).
        latent_dim: size of z ~ N(0, I).
        generator: factory ``(latent_dim, image_shape) -> net`` (tanh is applied to its output).
        discriminator: factory ``(image_shape, code_dim) -> net``: the critic's code h(x); no batch norm.
        code_dim: size of the critic's code h(x).
        gp_weight: λ, the weight of the gradient penalty on f.
        n_critic: critic steps per generator step.
        g_optimizer: optimiser factory for G (None: Adam, lr 1e-4, betas (0.5, 0.999)).
        d_optimizer: optimiser factory for the critic (None: the same).
        techniques: Salimans et al. stabilisers and generator EMA (None: all off).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        latent_dim: int = 100,
        generator: GeneratorFactory = DCGANGenerator,
        discriminator: EncoderFactory = DCGANCritic,
        code_dim: PositiveInt = 256,
        gp_weight: NonNegativeFloat = 10.0,
        n_critic: int = 5,
        g_optimizer: OptimizerCallable | None = None,
        d_optimizer: OptimizerCallable | None = None,
        techniques: AdversarialTechniques | None = None,
    ) -> None:
        super().__init__(
            image_shape, latent_dim, generator, discriminator, n_critic, g_optimizer, d_optimizer, techniques,
            discriminator_out_features=code_dim,
        )
        self.gp_weight = gp_weight

    def default_optimizer(self, player, params):
        return torch.optim.Adam(params, lr=1e-4, betas=(0.5, 0.999))

    def prepare(self, real: Tensor, due: set[str]) -> dict:
        shared = super().prepare(real, due)  # z, fake = x_g
        z2 = self.sample_latent(real.shape[0])
        with torch.set_grad_enabled("g" in due):
            shared.update(z2=z2, fake2=self.generate(z2))  # x'_g, independent of x_g
        return shared

    def discriminator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        fake, fake2 = shared["fake"].detach(), shared["fake2"].detach()
        h_real, h_fake, h_fake2 = self.discriminator(real), self.discriminator(fake), self.discriminator(fake2)
        surrogate = cramer_surrogate(h_real, h_fake, h_fake2)
        x_hat = interpolates(real, fake)
        penalty = gradient_norm_penalty(cramer_critic(self.discriminator(x_hat), h_fake2), x_hat)
        return {"loss": -surrogate + self.gp_weight * penalty, "surrogate": surrogate, "gradient_penalty": penalty}

    def generator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        h_real = self.discriminator(real)
        energy = cramer_generator_loss(h_real, self.discriminator(shared["fake"]), self.discriminator(shared["fake2"]))
        return {"loss": energy, "energy_distance": energy}

    def density_samplers(self) -> tuple[str, ...]:
        return ("ddls",)  # a Lipschitz critic, as WGAN-GP's: an energy, no density ratio

    def energy(self, x: Tensor, references: int = 256) -> Tensor:
        """``d(x)`` of :func:`~zoo.losses.critics.cramer_energy`, its reference sample ``references`` generated
        images (a fixed seed, so d is one function of x)."""
        with torch.no_grad():
            generator = torch.Generator().manual_seed(0)
            h_reference = self.discriminator(self.generate(self.sample_latent(references, generator)))
        return cramer_energy(self.discriminator(x), h_reference)

    def evaluate(self, real: Tensor) -> LossTerms:
        z = self.sample_latent(2 * real.shape[0])
        fake, fake2 = self.generate(z).chunk(2)
        codes = [self.discriminator(x) for x in (real, fake, fake2)]
        return {"d/surrogate": cramer_surrogate(*codes), "g/energy_distance": cramer_generator_loss(*codes)}
