"""Importance-weighted autoencoder (Burda, Grosse & Salakhutdinov 2016, arXiv:1509.00519): the VAE trained on the
k-sample bound instead of the ELBO."""

import math

from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor

from zoo.arguments import NonNegativeFloat, PositiveFloat, PositiveInt, check_memory
from zoo.core.base import LossTerms, Update
from zoo.core.variational import VariationalModel, log_mean_exp
from zoo.nets import ConvDecoder, ConvEncoder, EncoderFactory, GeneratorFactory
from zoo.registry import register


@register(family="vae", paper="Burda, Grosse & Salakhutdinov 2016, Importance Weighted Autoencoders, arXiv:1509.00519")
class IWAE(VariationalModel):
    """Maximises the k-sample importance-weighted bound (Burda et al. 2016, eq. 8)

    ``L_k(x) = E_{z_1..z_k ~ q(z|x)} [ log (1/k) Σ_i p(x, z_i) / q(z_i|x) ] <= log p(x)``,

    with ``log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x)`` from
    :meth:`~zoo.core.variational.VariationalModel.log_weights` (the same weights ``zoo evaluate --metrics nll``
    averages over its k = 1000 samples). ``L_1`` is the ELBO and ``L_k`` rises with k towards ``log p(x)`` (their
    Theorem 1). The gradient weights each draw by its normalised weight ``w_i / Σ_j w_j``, so the encoder is no
    longer pushed to cover only the posterior's mode, and more latent units stay active (their Sec. 5.2).

    Logged per batch (nats per image): ``loss = niwae = -L_k``; ``nelbo = recon + kl``, the ELBO of the same k
    draws (their mean log weight, so ``niwae <= nelbo`` on every batch, Jensen); ``recon = -log p(x|z)`` and
    ``kl = log q(z|x) - log p(z)`` averaged over the draws. Validation logs the VAE's terms (closed-form KL) and
    ``niwae``.

    Args:
        image_shape: (C, H, W) of the data (linked from the data module).
        latent_dim: size of z.
        num_samples: k, the importance samples per image (the paper's tables: 1, 5 and 50; 1 is the VAE's
            objective). Each costs one decoder pass, so a batch decodes ``batch_size · k`` images.
        encoder: factory ``(image_shape, 2 * latent_dim) -> net``.
        decoder: factory ``(latent_dim, image_shape) -> net``.
        likelihood: ``bernoulli`` or ``gaussian`` decoder.
        decoder_std: fixed Gaussian pixel std, or None to learn it.
        optimizer: optimiser factory (None: Adam, lr 1e-3).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        latent_dim: PositiveInt = 20,
        num_samples: PositiveInt = 5,
        encoder: EncoderFactory = ConvEncoder,
        decoder: GeneratorFactory = ConvDecoder,
        likelihood: str = "bernoulli",
        decoder_std: PositiveFloat | None = None,
        optimizer: OptimizerCallable | None = None,
    ) -> None:
        super().__init__(image_shape, latent_dim, encoder, decoder, likelihood, 1.0, decoder_std, optimizer)
        # every image of a batch decodes k images: refuse a k whose decoded images alone exceed the memory
        check_memory(f"num_samples={num_samples}", 4.0 * num_samples * math.prod(self.image_shape),
                     "use the paper's k of 5 or 50")
        self.num_samples = num_samples

    def updates(self) -> list[Update]:
        return [Update("vae", lambda real, shared: self.iwae_terms(real))]

    def iwae_terms(self, x: Tensor, *condition: Tensor) -> LossTerms:
        """``loss = niwae = -L_k`` and the ELBO's terms of the same k draws, in nats per image (scalars)."""
        params = self.encode(x, *condition)
        z = self.posterior_samples(params, self.num_samples)  # (B, k, D)
        parts = self.log_weights((x.float() + 1) / 2, params, z, *condition)  # each (B, k)
        niwae = -log_mean_exp(parts.total, dim=1).mean()
        recon = -parts.log_px_z.mean()
        kl = (parts.log_qz - parts.log_pz).mean()
        return {"loss": niwae, "niwae": niwae, "nelbo": recon + kl, "recon": recon, "kl": kl}

    def evaluate(self, real: Tensor, *condition: Tensor) -> LossTerms:
        return {**super().evaluate(real, *condition), "niwae": self.iwae_terms(real, *condition)["niwae"]}
