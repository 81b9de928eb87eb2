"""BiGAN (Donahue et al. 2017) and ALI (Dumoulin et al. 2017): a discriminator on (x, z) pairs learns inference."""

import torch
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor

from zoo.core.base import GenerativeModel, LossTerms, Update
from zoo.losses.gan import discriminator_accuracy, gan_discriminator_loss
from zoo.losses.reconstruction import pixel_mse
from zoo.losses.variational import reparameterize
from zoo.nets import ConvEncoder, DCGANGenerator, EncoderFactory, GeneratorFactory, JointDiscriminator, JointFactory
from zoo.registry import register


@register(family="hybrid", paper="Donahue, Krähenbühl & Darrell 2017, Adversarial Feature Learning, arXiv:1605.09782")
class BiGAN(GenerativeModel):
    """``min_{G,E} max_D E_x[log D(x, E(x))] + E_z[log(1 - D(G(z), z))]`` (eq. 3): at the optimum the joint
    distributions (x, E(x)) and (G(z), z) agree, so E inverts G although neither ever sees E∘G or G∘E.

    Two players: ``d`` (the joint discriminator) and ``g``, which holds the generator *and* the encoder under one
    optimiser, since they minimise the same objective (the paper's setting). Their loss is the non-saturating one with
    the labels swapped: ``-log(1 - D(x, E(x))) - log D(G(z), z)``. One batch of z, G(z) and E(x) per iteration
    serves both updates. ``reconstruct(x) = G(E(x))`` is a diagnostic of how well E inverts G.

    Args:
        image_shape: (C, H, W) of the data (linked from the data module).
        latent_dim: size of z ~ N(0, I).
        encoder: factory ``(image_shape, k · latent_dim) -> net`` (k = 2 with a stochastic encoder: (mu, log sigma²)).
        generator: factory ``(latent_dim, image_shape) -> net``; tanh is applied to its output.
        discriminator: factory ``(image_shape, latent_dim, 1) -> net`` on (x, z) pairs.
        stochastic_encoder: a Gaussian encoder z = mu + sigma·ε (ALI) instead of a deterministic one (BiGAN).
        g_optimizer: optimiser for generator and encoder (None: Adam, lr 1e-3, betas (0.5, 0.999):
            5x DCGAN's 2e-4, so that short runs get past the early collapsed phase).
        d_optimizer: optimiser for the discriminator (None: the same).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        latent_dim: int = 32,
        encoder: EncoderFactory = ConvEncoder,
        generator: GeneratorFactory = DCGANGenerator,
        discriminator: JointFactory = JointDiscriminator,
        stochastic_encoder: bool = False,
        g_optimizer: OptimizerCallable | None = None,
        d_optimizer: OptimizerCallable | None = None,
    ) -> None:
        super().__init__(image_shape, latent_dim)
        self.stochastic_encoder = stochastic_encoder
        self.encoder = encoder(self.image_shape, (2 if stochastic_encoder else 1) * latent_dim)
        self.generator = generator(latent_dim, self.image_shape)
        self.discriminator = discriminator(self.image_shape, latent_dim, 1)
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer

    def training_only_nets(self) -> tuple[str, ...]:
        return ("discriminator",)  # D(x, z) judges pairs; sampling and encoding use G and E alone

    def players(self):
        return {"d": (self.discriminator, self.d_optimizer), "g": ([self.generator, self.encoder], self.g_optimizer)}

    def updates(self) -> list[Update]:
        return [Update("d", self.discriminator_loss), Update("g", self.generator_encoder_loss)]

    def default_optimizer(self, player, params):
        return torch.optim.Adam(params, lr=1e-3, betas=(0.5, 0.999))

    def generate(self, z: Tensor) -> Tensor:
        return torch.tanh(self.generator(z))

    def encode(self, x: Tensor) -> Tensor:
        """``E(x)`` (B, latent_dim): the code, or the posterior mean for a stochastic encoder."""
        out = self.encoder(x)
        return out.chunk(2, dim=1)[0] if self.stochastic_encoder else out

    def latent_code(self, x: Tensor) -> Tensor:
        """``E(x)`` (the posterior mean for a stochastic encoder): the code fitted latent priors are fitted to."""
        return self.encode(x)

    def encode_sample(self, x: Tensor) -> Tensor:
        """A draw z ~ q(z|x) (the code itself for a deterministic encoder)."""
        if not self.stochastic_encoder:
            return self.encoder(x)
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return reparameterize(mu, logvar)

    def reconstruct(self, x: Tensor) -> Tensor:
        """``G(E(x))`` in [-1, 1]."""
        return self.generate(self.encode(x))

    def prepare(self, real: Tensor, due: set[str]) -> dict:
        z = self.sample_latent(real.shape[0])
        with torch.set_grad_enabled("g" in due):  # keep the graphs only for the G/E update
            return {"z": z, "fake": self.generate(z), "code": self.encode_sample(real)}

    def discriminator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        real_logits = self.discriminator(real, shared["code"].detach())  # (x, E(x)): "real"
        fake_logits = self.discriminator(shared["fake"].detach(), shared["z"])  # (G(z), z): "fake"
        return {
            "loss": gan_discriminator_loss(real_logits, fake_logits),
            "accuracy": discriminator_accuracy(real_logits, fake_logits),
        }

    def generator_encoder_loss(self, real: Tensor, shared: dict) -> LossTerms:
        real_logits = self.discriminator(real, shared["code"])
        fake_logits = self.discriminator(shared["fake"], shared["z"])
        return {"loss": gan_discriminator_loss(fake_logits, real_logits)}  # labels swapped

    def evaluate(self, real: Tensor) -> LossTerms:
        z = self.sample_latent(real.shape[0])
        real_logits = self.discriminator(real, self.encode_sample(real))
        fake_logits = self.discriminator(self.generate(z), z)
        return {
            "recon_mse": pixel_mse(self.reconstruct(real), real),
            "d/accuracy": discriminator_accuracy(real_logits, fake_logits),
        }


@register(family="hybrid", paper="Dumoulin et al. 2017, Adversarially Learned Inference, arXiv:1606.00704")
class ALI(BiGAN):
    """The BiGAN game with a stochastic Gaussian encoder ``z = mu(x) + sigma(x)·ε``, reparameterised (Sec. 2.2).

    Args:
        stochastic_encoder: keep True for ALI (False gives BiGAN); the encoder then outputs (mu, log sigma²).
        **kwargs: every other argument of :class:`BiGAN`.
    """

    def __init__(self, stochastic_encoder: bool = True, **kwargs) -> None:
        super().__init__(stochastic_encoder=stochastic_encoder, **kwargs)
