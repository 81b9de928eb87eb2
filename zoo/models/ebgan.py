"""Energy-based GAN (Zhao et al. 2016): an autoencoder discriminator whose reconstruction error is an energy.

``D(x) = ||Dec(Enc(x)) - x||²`` (mean over pixels) is trained low on data and, up to a margin m, high on samples:
``L_D = D(x) + [m - D(G(z))]⁺``; the generator lowers the energy of its samples, ``L_G = D(G(z))``, plus the
pull-away term that pushes the encoder codes of a generated batch apart (EBGAN-PT, eq. 5) against mode collapse.
"""

from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor

from zoo.arguments import PositiveInt, PositiveFloat, NonNegativeFloat
from zoo.core.adversarial import AdversarialModel, AdversarialTechniques
from zoo.core.base import LossTerms
from zoo.losses.energy_based import ebgan_discriminator_loss, pull_away_term, reconstruction_energy
from zoo.nets import AutoencoderDiscriminator, DCGANGenerator, EncoderFactory, GeneratorFactory
from zoo.registry import register


@register(family="gan", paper="Zhao et al. 2016, Energy-based Generative Adversarial Network, arXiv:1609.03126")
class EBGAN(AdversarialModel):
    """``L_D = D(x) + max(0, m - D(G(z)))``, ``L_G = D(G(z)) + λ_PT · f_PT(Enc(G(z)))`` with D the per-image mean
    squared reconstruction error of an autoencoder.

    Args:
        image_shape: (C, H, W) of the data (linked from the data module).
        latent_dim: size of z ~ N(0, I).
        generator: factory ``(latent_dim, image_shape) -> net`` (tanh is applied to its output).
        discriminator: factory ``(image_shape, code_dim) -> autoencoder`` with ``encode``/``decode`` (its forward
            reconstructs the input).
        code_dim: size of the autoencoder's code.
        margin: m, the energy above which generated images are no longer pushed up.
        pull_away_weight: λ_PT, the weight of the pull-away term in G's loss (0: plain EBGAN).
        n_critic: discriminator steps per generator step.
        g_optimizer: optimiser factory for G (None: Adam, lr 2e-4, betas (0.5, 0.999)).
        d_optimizer: optimiser factory for the autoencoder (None: the same).
        techniques: Salimans et al. stabilisers and generator EMA (None: all off; minibatch discrimination does not
            apply to an autoencoder).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        latent_dim: int = 100,
        generator: GeneratorFactory = DCGANGenerator,
        discriminator: EncoderFactory = AutoencoderDiscriminator,
        code_dim: PositiveInt = 64,
        margin: PositiveFloat = 1.0,
        pull_away_weight: NonNegativeFloat = 0.1,
        n_critic: int = 1,
        g_optimizer: OptimizerCallable | None = None,
        d_optimizer: OptimizerCallable | None = None,
        techniques: AdversarialTechniques | None = None,
    ) -> None:
        super().__init__(
            image_shape, latent_dim, generator, discriminator, n_critic, g_optimizer, d_optimizer, techniques,
            discriminator_out_features=code_dim,
        )
        self.margin = margin
        self.pull_away_weight = pull_away_weight

    def autoencoder_energy(self, x: Tensor) -> Tensor:
        """D(x): the per-image mean squared reconstruction error (B,). Not the DDLS energy :meth:`energy` (refused
        for EBGAN): the game's optimum fixes no density ratio in D, so no ``d(x)`` with p_t ∝ p_g·e^d follows."""
        return reconstruction_energy(self.discriminator(x), x, "mse")

    def discriminator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        real_energy = self.autoencoder_energy(real)
        fake_energy = self.autoencoder_energy(shared["fake"].detach())
        return {
            "loss": ebgan_discriminator_loss(real_energy, fake_energy, self.margin),
            "real_energy": real_energy.mean(),
            "fake_energy": fake_energy.mean(),
        }

    def generator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        fake = shared["fake"]
        code = self.discriminator.encode(fake)  # (B, code_dim): one encoder pass serves both terms
        energy = reconstruction_energy(self.discriminator.decode(code), fake, "mse").mean()
        terms = {"loss": energy, "fake_energy": energy}
        if self.pull_away_weight > 0:
            pull_away = pull_away_term(code)
            terms.update(loss=energy + self.pull_away_weight * pull_away, pull_away=pull_away)
        return terms

    def evaluate(self, real: Tensor) -> LossTerms:
        fake = self.generate(self.sample_latent(real.shape[0]))
        return {"d/real_energy": self.autoencoder_energy(real).mean(),
                "d/fake_energy": self.autoencoder_energy(fake).mean()}
