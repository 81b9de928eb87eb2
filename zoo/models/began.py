"""Boundary Equilibrium GAN (Berthelot et al. 2017): matching the distributions of autoencoder losses.

The discriminator is an autoencoder with the L1 reconstruction loss ``L(v) = mean |v - D(v)|``. It minimises
``L(x) - k_t L(G(z))``, the generator minimises ``L(G(z))``, and a proportional controller keeps the two in the
equilibrium ``E L(G(z)) = γ E L(x)``: ``k_{t+1} = clip(k_t + λ_k (γ L(x) - L(G(z))), 0, 1)``. γ trades diversity
(high) for quality (low). ``M_global = L(x) + |γ L(x) - L(G(z))|`` measures convergence.
"""

import torch
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor

from zoo.arguments import PositiveInt, NonNegativeFloat, UnitFloat
from zoo.core.adversarial import AdversarialModel, AdversarialTechniques
from zoo.core.base import LossTerms
from zoo.losses.energy_based import began_convergence, began_k_update, reconstruction_energy
from zoo.nets import AutoencoderDiscriminator, DCGANGenerator, EncoderFactory, GeneratorFactory
from zoo.registry import register


@register(family="gan", paper="Berthelot et al. 2017, BEGAN: Boundary Equilibrium Generative Adversarial Networks, "
          "arXiv:1703.10717")
class BEGAN(AdversarialModel):
    """``L_D = L(x) - k_t L(G(z))``, ``L_G = L(G(z))``, k_t updated after every discriminator step (eq. 4).

    ``k`` is a buffer: it is saved in checkpoints and restored on resume, and under DDP every rank updates it with
    L(x) and L(G(z)) averaged over the ranks, so that all ranks hold the same k_t. Logged: ``train/d/k``,
    ``train/d/convergence`` (M_global), ``train/d/real_loss`` and ``train/d/fake_loss``.

    Args:
        image_shape: (C, H, W) of the data (linked from the data module).
        latent_dim: size of z ~ N(0, I) (the paper draws z uniformly; zoo models share the Gaussian prior).
        generator: factory ``(latent_dim, image_shape) -> net`` (tanh is applied to its output).
        discriminator: factory ``(image_shape, code_dim) -> autoencoder`` whose forward reconstructs its input.
        code_dim: size of the autoencoder's code (N_h; the paper uses N_h = N_z = 64).
        gamma: γ, the diversity ratio E L(G(z)) / E L(x) the controller aims for.
        lambda_k: λ_k, the controller's gain.
        k_init: k_0.
        n_critic: discriminator steps per generator step (the paper updates both on every batch).
        g_optimizer: optimiser factory for G (None: Adam, lr 1e-4, betas (0.5, 0.999)).
        d_optimizer: optimiser factory for the autoencoder (None: the same).
        techniques: Salimans et al. stabilisers and generator EMA (None: all off; minibatch discrimination does not
            apply to an autoencoder).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        latent_dim: int = 64,
        generator: GeneratorFactory = DCGANGenerator,
        discriminator: EncoderFactory = AutoencoderDiscriminator,
        code_dim: PositiveInt = 64,
        gamma: UnitFloat = 0.5,
        lambda_k: NonNegativeFloat = 0.001,
        k_init: UnitFloat = 0.0,
        n_critic: int = 1,
        g_optimizer: OptimizerCallable | None = None,
        d_optimizer: OptimizerCallable | None = None,
        techniques: AdversarialTechniques | None = None,
    ) -> None:
        super().__init__(
            image_shape, latent_dim, generator, discriminator, n_critic, g_optimizer, d_optimizer, techniques,
            discriminator_out_features=code_dim,
        )
        self.gamma = gamma
        self.lambda_k = lambda_k
        self.register_buffer("k", torch.tensor(float(k_init)))
        self._losses: Tensor | None = None  # (L(x), L(G(z))) of the last discriminator step

    def default_optimizer(self, player, params):
        return torch.optim.Adam(params, lr=1e-4, betas=(0.5, 0.999))

    def autoencoder_loss(self, x: Tensor) -> Tensor:
        """L(x): the per-image mean absolute reconstruction error (B,)."""
        return reconstruction_energy(self.discriminator(x), x, "l1")

    def discriminator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        real_loss = self.autoencoder_loss(real).mean()
        fake_loss = self.autoencoder_loss(shared["fake"].detach()).mean()
        self._losses = torch.stack([real_loss, fake_loss]).detach()
        return {
            "loss": real_loss - self.k * fake_loss,
            "real_loss": real_loss,
            "fake_loss": fake_loss,
            "k": self.k.clone(),
            "convergence": began_convergence(real_loss, fake_loss, self.gamma),
        }

    def generator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        return {"loss": self.autoencoder_loss(shared["fake"]).mean()}

    def after_update(self, player: str) -> None:
        if player == "d" and self._losses is not None:
            real_loss, fake_loss = self._mean_over_ranks(self._losses)
            self.k.copy_(began_k_update(self.k, real_loss, fake_loss, self.gamma, self.lambda_k))
            self._losses = None
        super().after_update(player)

    def _mean_over_ranks(self, value: Tensor) -> Tensor:
        trainer = self._trainer
        if trainer is None or trainer.world_size == 1:
            return value
        return trainer.strategy.reduce(value, reduce_op="mean")

    def evaluate(self, real: Tensor) -> LossTerms:
        fake = self.generate(self.sample_latent(real.shape[0]))
        real_loss, fake_loss = self.autoencoder_loss(real).mean(), self.autoencoder_loss(fake).mean()
        return {"d/convergence": began_convergence(real_loss, fake_loss, self.gamma)}
