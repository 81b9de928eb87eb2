"""The adversarial game: a generator G(z) against a discriminator (or critic) D(x), k D-steps per G-step."""

import torch
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor

from zoo.core.base import GenerativeModel, LossTerms, Update
from zoo.nets import EncoderFactory, GeneratorFactory


class AdversarialModel(GenerativeModel):
    """Generator vs discriminator (Goodfellow et al. 2014, Algorithm 1): a D update on every batch, a G update on
    every ``n_critic``-th batch. One generated batch per iteration serves both updates: D sees it detached, G's
    update back-propagates through the freshly updated D into G.

    Subclasses define :meth:`discriminator_loss` and :meth:`generator_loss` (and the constructor's defaults).

    Args:
        image_shape: (C, H, W) of the data.
        latent_dim: size of z ~ N(0, I).
        generator: factory ``(latent_dim, image_shape) -> net``; its raw output goes through tanh.
        discriminator: factory ``(image_shape, 1) -> net`` giving one logit (or critic value) per image.
        n_critic: discriminator updates per generator update (k in Algorithm 1).
        g_optimizer: optimiser factory for G (None: the model's default).
        d_optimizer: optimiser factory for D (None: the model's default).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        latent_dim: int,
        generator: GeneratorFactory,
        discriminator: EncoderFactory,
        n_critic: int = 1,
        g_optimizer: OptimizerCallable | None = None,
        d_optimizer: OptimizerCallable | None = None,
    ) -> None:
        super().__init__(image_shape, latent_dim)
        if n_critic < 1:
            raise ValueError(f"n_critic must be >= 1 (discriminator steps per generator step), got {n_critic}")
        self.generator = generator(latent_dim, self.image_shape)
        self.discriminator = discriminator(self.image_shape, 1)
        self.n_critic = n_critic
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer

    def players(self):
        return {"d": (self.discriminator, self.d_optimizer), "g": (self.generator, self.g_optimizer)}

    def updates(self) -> list[Update]:
        return [Update("d", self.discriminator_loss), Update("g", self.generator_loss, every=self.n_critic)]

    def default_optimizer(self, player, params):
        return torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999))

    def generate(self, z: Tensor) -> Tensor:
        return torch.tanh(self.generator(z))

    def prepare(self, real: Tensor, due: set[str]) -> dict:
        z = self.sample_latent(real.shape[0])
        if "g" in due:  # keep the graph: the generator update back-propagates through this batch
            return {"z": z, "fake": self.generate(z)}
        with torch.no_grad():
            return {"z": z, "fake": self.generate(z)}

    def discriminator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        """D's loss on real images and ``shared["fake"]`` (use it detached)."""
        raise NotImplementedError

    def generator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        """G's loss on ``shared["fake"]`` (keep its graph)."""
        raise NotImplementedError
