"""Variational autoencoder (Kingma & Welling 2014, arXiv:1312.6114) with Bernoulli or Gaussian decoder and beta."""

from lightning.pytorch.cli import OptimizerCallable

from zoo.arguments import PositiveFloat, NonNegativeFloat
from zoo.core.variational import VariationalModel
from zoo.nets import ConvDecoder, ConvEncoder, EncoderFactory, GeneratorFactory
from zoo.registry import register


@register(family="vae", paper="Kingma & Welling 2014, Auto-Encoding Variational Bayes, arXiv:1312.6114")
class VAE(VariationalModel):
    """Maximises the ELBO ``E_q[log p(x|z)] - beta · KL(q(z|x) || N(0, I))`` with the reparameterisation trick.

    Args:
        image_shape: (C, H, W) of the data (linked from the data module).
        latent_dim: size of z.
        encoder: factory ``(image_shape, 2 * latent_dim) -> net``.
        decoder: factory ``(latent_dim, image_shape) -> net``.
        likelihood: ``bernoulli`` (binary cross-entropy) or ``gaussian`` decoder.
        beta: KL weight (1 = the ELBO; > 1 = beta-VAE).
        decoder_std: fixed Gaussian pixel std, or None to learn it.
        optimizer: optimiser factory (None: Adam, lr 1e-3).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        latent_dim: int = 20,
        encoder: EncoderFactory = ConvEncoder,
        decoder: GeneratorFactory = ConvDecoder,
        likelihood: str = "bernoulli",
        beta: NonNegativeFloat = 1.0,
        decoder_std: PositiveFloat | None = None,
        optimizer: OptimizerCallable | None = None,
    ) -> None:
        super().__init__(image_shape, latent_dim, encoder, decoder, likelihood, beta, decoder_std, optimizer)
