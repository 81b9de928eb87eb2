"""VEEGAN (Srivastava et al. 2017): a reconstructor network maps data back to noise to fight mode collapse."""

import torch
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor

from zoo.arguments import NonNegativeFloat
from zoo.core.base import GenerativeModel, LossTerms, Update
from zoo.losses.gan import discriminator_accuracy, gan_discriminator_loss
from zoo.losses.reconstruction import pixel_mse
from zoo.nets import ConvEncoder, DCGANGenerator, EncoderFactory, GeneratorFactory, JointDiscriminator, JointFactory
from zoo.registry import register


@register(
    family="hybrid",
    paper="Srivastava et al. 2017, VEEGAN: Reducing Mode Collapse in GANs using Implicit Variational Learning, "
    "arXiv:1705.07761",
)
class VEEGAN(GenerativeModel):
    """Generator G: z -> x, reconstructor F: x -> z and a joint discriminator D(x, z) (Algorithm 1).

    D is trained with the logistic loss to label generator pairs (G(z), z) 1 and data pairs (x, F(x)) 0, so its
    logit estimates the log density ratio of the two joints. G and F minimise the bound of eq. (8),

        ``L = E_z[D(G(z), z)] + λ_r·E_z ||z - F(G(z))||² - λ_a·E_x[D(x, F(x))]``,

    with ``λ_r = reconstruction_weight`` (the paper's Algorithm 1: 1; default 0.1) and ``λ_a = 1`` if
    ``adversarial_reconstructor`` else 0 (the paper: 0; default 1). A G that drops a mode cannot map that mode's
    codes back through F, which the z-space reconstruction term penalises. The logit term reaches only G; the
    reconstruction term reaches G and F, so both nets form one player ``g`` with one optimiser and the gradients of
    Algorithm 1 follow exactly.

    In Algorithm 1, F learns only from G's samples, so on real data its codes F(x) can sit anywhere and D separates
    the two joints by their z-part alone; at small budgets that starves G of signal and it collapses. With
    ``adversarial_reconstructor`` (the default) F also minimises ``-D(x, F(x))``, pulling the data pairs' codes
    towards the generator pairs' as a BiGAN encoder does (the authors' linked MNIST notebook trains F this way).
    In YAML, ``reconstruction_weight: 1.0`` and ``adversarial_reconstructor: false`` give Algorithm 1 exactly.

    Args:
        image_shape: (C, H, W) of the data (linked from the data module).
        latent_dim: size of z ~ N(0, I).
        generator: factory ``(latent_dim, image_shape) -> net``; tanh is applied to its output.
        reconstructor: factory ``(image_shape, latent_dim) -> net``, the network F.
        discriminator: factory ``(image_shape, latent_dim, 1) -> net`` on (x, z) pairs.
        reconstruction_weight: λ_r, the weight of ``||z - F(G(z))||²`` (summed over latent dimensions); 1 in the
            paper.
        adversarial_reconstructor: F also minimises ``-D(x, F(x))`` (see above); False: Algorithm 1 as printed.
        g_optimizer: optimiser for G and F (None: Adam, lr 1e-3, betas (0.5, 0.999):
            5x DCGAN's 2e-4, so that short runs get past the early collapsed phase).
        d_optimizer: optimiser for D (None: the same).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        latent_dim: int = 32,
        generator: GeneratorFactory = DCGANGenerator,
        reconstructor: EncoderFactory = ConvEncoder,
        discriminator: JointFactory = JointDiscriminator,
        reconstruction_weight: NonNegativeFloat = 0.1,
        adversarial_reconstructor: bool = True,
        g_optimizer: OptimizerCallable | None = None,
        d_optimizer: OptimizerCallable | None = None,
    ) -> None:
        super().__init__(image_shape, latent_dim)
        self.generator = generator(latent_dim, self.image_shape)
        self.reconstructor = reconstructor(self.image_shape, latent_dim)
        self.discriminator = discriminator(self.image_shape, latent_dim, 1)
        self.reconstruction_weight = reconstruction_weight
        self.adversarial_reconstructor = adversarial_reconstructor
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer

    def training_only_nets(self) -> tuple[str, ...]:
        return ("discriminator",)  # D(x, z) judges pairs; sampling uses G, encoding the reconstructor

    def players(self):
        return {
            "d": (self.discriminator, self.d_optimizer),
            "g": ([self.generator, self.reconstructor], self.g_optimizer),
        }

    def updates(self) -> list[Update]:
        return [Update("d", self.discriminator_loss), Update("g", self.generator_loss)]

    def default_optimizer(self, player, params):
        return torch.optim.Adam(params, lr=1e-3, betas=(0.5, 0.999))

    def generate(self, z: Tensor) -> Tensor:
        return torch.tanh(self.generator(z))

    def encode(self, x: Tensor) -> Tensor:
        """``F(x)`` (B, latent_dim)."""
        return self.reconstructor(x)

    def latent_code(self, x: Tensor) -> Tensor:
        """``F(x)``: the code fitted latent priors are fitted to."""
        return self.encode(x)

    def reconstruct(self, x: Tensor) -> Tensor:
        """``G(F(x))`` in [-1, 1]."""
        return self.generate(self.encode(x))

    def prepare(self, real: Tensor, due: set[str]) -> dict:
        z = self.sample_latent(real.shape[0])
        with torch.set_grad_enabled("g" in due):  # keep the graph only for the generator's update
            return {"z": z, "fake": self.generate(z)}

    def discriminator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        with torch.no_grad():
            code = self.encode(real)
        fake_logits = self.discriminator(shared["fake"].detach(), shared["z"])  # (G(z), z): label 1
        real_logits = self.discriminator(real, code)  # (x, F(x)): label 0
        return {
            "loss": gan_discriminator_loss(fake_logits, real_logits),
            "accuracy": discriminator_accuracy(fake_logits, real_logits),
        }

    def generator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        ratio = self.discriminator(shared["fake"], shared["z"]).float().mean()  # reaches G only
        z_error = (shared["z"] - self.encode(shared["fake"])).float().pow(2).sum(1).mean()  # reaches G and F
        terms = {"loss": ratio + self.reconstruction_weight * z_error, "ratio": ratio, "z_error": z_error}
        if self.adversarial_reconstructor:  # reaches F only
            terms["loss"] = terms["loss"] - self.discriminator(real, self.encode(real)).float().mean()
        return terms

    def evaluate(self, real: Tensor) -> LossTerms:
        z = self.sample_latent(real.shape[0])
        return {
            "recon_mse": pixel_mse(self.reconstruct(real), real),
            "z_error": (z - self.encode(self.generate(z))).pow(2).sum(1).mean(),
        }
