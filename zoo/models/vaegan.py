"""VAE-GAN (Larsen et al. 2016): a VAE whose reconstruction error is measured in a discriminator's feature space."""

import torch
import torch.nn.functional as F
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor

from zoo.arguments import NonNegativeFloat
from zoo.core.base import GenerativeModel, LossTerms, Update
from zoo.losses.gan import (
    discriminator_accuracy,
    gan_discriminator_loss,
    gan_generator_loss,
    logistic_log_density_ratio,
)
from zoo.losses.reconstruction import pixel_mse
from zoo.losses.variational import gaussian_kl, reparameterize
from zoo.nets import ConvEncoder, DCGANDiscriminator, DCGANGenerator, EncoderFactory, GeneratorFactory
from zoo.registry import register


@register(
    family="hybrid",
    paper="Larsen et al. 2016, Autoencoding beyond pixels using a learned similarity metric, arXiv:1512.09300",
)
class VAEGAN(GenerativeModel):
    """Encoder q(z|x) = N(mu, diag sigma²), decoder/generator ``x̃ = Dec(z)`` and discriminator Dis, with (Sec. 2.2)

    * ``L_prior = KL(q(z|x) || N(0, I))``;
    * ``L_llike = -E_q log N(Dis_l(x); Dis_l(x̃), I) = ½ ||Dis_l(x) - Dis_l(x̃)||²`` (+ const), where ``Dis_l`` is
      the discriminator's ``features`` layer (nats per image, summed over features);
    * ``L_GAN = log Dis(x) + log(1 - Dis(x̃)) + log(1 - Dis(Dec(z_p)))``, z_p ~ N(0, I).

    Three players with their own optimisers (Algorithm 1), updated in the order ``d`` (maximises L_GAN), ``g`` (the
    decoder: ``γ·L_llike`` plus the non-saturating GAN loss on x̃ and Dec(z_p)) and ``e`` (the encoder:
    ``L_prior + L_llike``). Following the paper, the discriminator's features are not trained by L_llike.

    Args:
        image_shape: (C, H, W) of the data (linked from the data module).
        latent_dim: size of z.
        encoder: factory ``(image_shape, 2 * latent_dim) -> net`` giving (mu, log sigma²).
        decoder: factory ``(latent_dim, image_shape) -> net``; tanh is applied to its output.
        discriminator: factory ``(image_shape, 1) -> net`` with ``features(x)`` (the layer l) and ``head``.
        gamma: γ, the weight of L_llike against the GAN loss in the decoder's update.
        e_optimizer: optimiser for the encoder (None: Adam, lr 3e-4, betas (0.5, 0.999)).
        g_optimizer: optimiser for the decoder (None: the same).
        d_optimizer: optimiser for the discriminator (None: the same).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        latent_dim: int = 32,
        encoder: EncoderFactory = ConvEncoder,
        decoder: GeneratorFactory = DCGANGenerator,
        discriminator: EncoderFactory = DCGANDiscriminator,
        gamma: NonNegativeFloat = 0.01,
        e_optimizer: OptimizerCallable | None = None,
        g_optimizer: OptimizerCallable | None = None,
        d_optimizer: OptimizerCallable | None = None,
    ) -> None:
        super().__init__(image_shape, latent_dim)
        self.encoder = encoder(self.image_shape, 2 * latent_dim)
        self.decoder = decoder(latent_dim, self.image_shape)
        self.discriminator = discriminator(self.image_shape, 1)
        self.gamma = gamma
        self.e_optimizer, self.g_optimizer, self.d_optimizer = e_optimizer, g_optimizer, d_optimizer

    def players(self):
        return {
            "d": (self.discriminator, self.d_optimizer),
            "g": (self.decoder, self.g_optimizer),
            "e": (self.encoder, self.e_optimizer),
        }

    def updates(self) -> list[Update]:
        return [Update("d", self.discriminator_loss), Update("g", self.decoder_loss), Update("e", self.encoder_loss)]

    def default_optimizer(self, player, params):
        return torch.optim.Adam(params, lr=3e-4, betas=(0.5, 0.999))

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``x -> (mu, logvar)``, each (B, latent_dim)."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def latent_code(self, x: Tensor) -> Tensor:
        """The posterior mean mu(x): the code fitted latent priors are fitted to."""
        return self.encode(x)[0]

    def generate(self, z: Tensor) -> Tensor:
        return torch.tanh(self.decoder(z))

    def reconstruct(self, x: Tensor) -> Tensor:
        """``Dec(mu(x))`` in [-1, 1]."""
        return self.generate(self.encode(x)[0])

    def prepare(self, real: Tensor, due: set[str]) -> dict:
        # One posterior draw per iteration; its graph is kept only for the encoder's update (the last one).
        with torch.set_grad_enabled("e" in due):
            mu, logvar = self.encode(real)
            z = reparameterize(mu.float(), logvar.float())
        return {"mu": mu, "logvar": logvar, "z": z, "z_prior": self.sample_latent(real.shape[0])}

    def feature_nll(self, real: Tensor, reconstruction_features: Tensor) -> Tensor:
        """``L_llike``: ½ ||Dis_l(x) - Dis_l(x̃)||² per image, averaged; Dis_l(x) is a fixed target."""
        with torch.no_grad():
            target = self.discriminator.features(real).float()
        return 0.5 * (reconstruction_features.float() - target).pow(2).sum(1).mean()

    def density_samplers(self) -> tuple[str, ...]:
        return ("drs", "ddls")

    def log_density_ratio(self, x: Tensor) -> Tensor:
        """``log p_data/p_g = logit + log 2``: the image discriminator's optimum is ``p / (p + q_rec + p_g)``, which
        is ``p / (p + 2 p_g)`` when reconstructions are distributed as samples."""
        return logistic_log_density_ratio(self.discriminator(x), fake_batches=2)

    def discriminator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        with torch.no_grad():
            reconstruction, prior_sample = self.generate(shared["z"]), self.generate(shared["z_prior"])
        real_logits = self.discriminator(real)
        recon_logits, prior_logits = self.discriminator(reconstruction), self.discriminator(prior_sample)
        prior_term = F.softplus(prior_logits.float()).mean()  # -E[log(1 - Dis(Dec(z_p)))]
        return {
            "loss": gan_discriminator_loss(real_logits, recon_logits) + prior_term,
            "accuracy": discriminator_accuracy(real_logits, torch.cat([recon_logits, prior_logits])),
        }

    def decoder_loss(self, real: Tensor, shared: dict) -> LossTerms:
        features = self.discriminator.features(self.generate(shared["z"].detach()))  # Dis_l(x̃)
        llike = self.feature_nll(real, features)
        prior_logits = self.discriminator(self.generate(shared["z_prior"]))
        adversarial = gan_generator_loss(self.discriminator.head(features)) + gan_generator_loss(prior_logits)
        return {"loss": self.gamma * llike + adversarial, "llike": llike, "adversarial": adversarial}

    def encoder_loss(self, real: Tensor, shared: dict) -> LossTerms:
        kl = gaussian_kl(shared["mu"].float(), shared["logvar"].float()).mean()
        # Through the just-updated decoder (a fresh forward: the one of the decoder's update is spent).
        llike = self.feature_nll(real, self.discriminator.features(self.generate(shared["z"])))
        return {"loss": kl + llike, "kl": kl, "llike": llike}

    def evaluate(self, real: Tensor) -> LossTerms:
        mu, logvar = self.encode(real)
        return {"recon_mse": pixel_mse(self.generate(mu), real), "kl": gaussian_kl(mu.float(), logvar.float()).mean()}
