"""VAE with the VampPrior (Tomczak & Welling 2018, arXiv:1705.07120): the prior is a mixture of the encoder's
posteriors at K learned pseudo-inputs."""

import math
from typing import Annotated

import torch
import torch.nn.functional as F
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor, nn

from zoo.arguments import InvalidArgument, NonNegativeFloat, PositiveFloat, PositiveInt, Range, check_memory
from zoo.core.variational import VariationalModel
from zoo.nets import ConvDecoder, ConvEncoder, EncoderFactory, GeneratorFactory
from zoo.registry import register

ELEMENTS_PER_CHUNK = 2**22
"""How many (latent, component, dimension) terms :func:`gaussian_mixture_log_prob` holds at once (16 MB)."""


def gaussian_mixture_log_prob(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """``log (1/K) Σ_k N(z; mu_k, diag exp(logvar_k))`` of latents z (..., D) under K equally weighted diagonal
    Gaussians mu, logvar (K, D): shape (...). Computed in chunks of latents so that the (N, K, D) differences never
    exceed :data:`ELEMENTS_PER_CHUNK` (an NLL of 50 images x 250 draws against 500 components would need 0.5 GB)."""
    flat = z.reshape(-1, z.shape[-1]).float()  # (N, D)
    mu, logvar = mu.float(), logvar.float()
    rows = max(1, ELEMENTS_PER_CHUNK // (mu.shape[0] * mu.shape[1]))
    parts = []
    for chunk in flat.split(rows):
        sq = (chunk[:, None] - mu).pow(2) / logvar.exp()  # (n, K, D)
        log_components = -0.5 * (sq + logvar + math.log(2 * math.pi)).sum(-1)  # (n, K)
        parts.append(torch.logsumexp(log_components, dim=1) - math.log(mu.shape[0]))
    return torch.cat(parts).view(z.shape[:-1])


class LayerNormConvEncoder(ConvEncoder):
    """:class:`~zoo.nets.ConvEncoder` normalising each image on its own (``norm`` ``layer``): the VampPrior's
    default encoder, since its prior must be a function of z alone (see :class:`VampVAE`).

    Args:
        image_shape: (C, H, W) of the input; H = W = 4·2^k or 7·2^k.
        out_features: output width (2·latent_dim).
        base_channels: channels of the first conv.
        norm: ``layer`` (default), ``instance`` or ``none``.
    """

    def __init__(self, image_shape: tuple[int, int, int], out_features: int, base_channels: int = 32,
                 norm: str = "layer") -> None:
        super().__init__(image_shape, out_features, base_channels, norm)


@register(family="vae", paper="Tomczak & Welling 2018, VAE with a VampPrior, AISTATS 2018, arXiv:1705.07120",
          name="vamp_vae")
class VampVAE(VariationalModel):
    """The VAE whose prior is the variational mixture of posteriors (Tomczak & Welling 2018, eq. 9)

    ``p(z) = (1/K) Σ_k q(z | u_k)``,

    the encoder's Gaussian posteriors at K pseudo-inputs u_k, images learned with the nets by the ELBO
    ``E_q[log p(x|z)] - β·KL(q(z|x) || p(z))``. The KL has no closed form, so it is estimated with the
    reconstruction's own draw: ``KL ≈ log q(z|x) - log p(z)`` (their eq. 4 with one sample, as in their code).
    Sampling draws a pseudo-input uniformly, then ``z ~ q(z | u_k)``; ``zoo evaluate --metrics nll`` scores
    ``log p(z)`` under this mixture (:meth:`log_prior`).

    The pseudo-inputs are ``hardtanh(P)`` of a parameter P (K, C, H, W), clamped to the pixel range [-1, 1] as the
    authors clamp theirs to [0, 1], and initialised from noise ``N(pseudo_input_mean, pseudo_input_std²)``: the
    defaults -0.9 and 0.02 are their code's N(0.05, 0.01) of [0, 1] pixels in zoo's [-1, 1], i.e. near-black
    images that the ELBO's gradient then shapes into data-like ones.

    The encoder must treat each image on its own: batch norm would make ``q(z | u_k)``, and so the prior's
    density, depend on which images share the batch, and mix the pseudo-inputs into its running statistics. A
    batch-norm encoder is refused; the default is :class:`LayerNormConvEncoder`.

    Args:
        image_shape: (C, H, W) of the data (linked from the data module).
        latent_dim: size of z.
        pseudo_inputs: K, the mixture's components (500 in the paper). Each step encodes all K with the batch.
        encoder: factory ``(image_shape, 2 * latent_dim) -> net`` without batch norm.
        decoder: factory ``(latent_dim, image_shape) -> net``.
        likelihood: ``bernoulli`` or ``gaussian`` decoder.
        beta: KL weight (1 = the ELBO).
        decoder_std: fixed Gaussian pixel std, or None to learn it.
        pseudo_input_mean: mean of the pseudo-inputs' initial pixels, in [-1, 1].
        pseudo_input_std: standard deviation of the pseudo-inputs' initial pixels.
        optimizer: optimiser factory for the nets and the pseudo-inputs (None: Adam, lr 1e-3).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        latent_dim: PositiveInt = 20,
        pseudo_inputs: PositiveInt = 500,
        encoder: EncoderFactory = LayerNormConvEncoder,
        decoder: GeneratorFactory = ConvDecoder,
        likelihood: str = "bernoulli",
        beta: NonNegativeFloat = 1.0,
        decoder_std: PositiveFloat | None = None,
        pseudo_input_mean: Annotated[float, Range(-1, 1)] = -0.9,
        pseudo_input_std: NonNegativeFloat = 0.02,
        optimizer: OptimizerCallable | None = None,
    ) -> None:
        super().__init__(image_shape, latent_dim, encoder, decoder, likelihood, beta, decoder_std, optimizer)
        batch_norms = [name for name, m in self.encoder.named_modules()
                       if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if batch_norms:
            raise InvalidArgument(
                f"the VampPrior's encoder has batch norm ({batch_norms[0]}), which makes the prior p(z) = "
                "(1/K) Σ q(z | u_k) depend on the batch the pseudo-inputs are encoded with. Fix: give the encoder "
                "per-image normalisation, e.g. encoder: {class_path: zoo.nets.ConvEncoder, init_args: {norm: layer}}."
            )
        check_memory(f"pseudo_inputs={pseudo_inputs}", 4.0 * 3 * pseudo_inputs * math.prod(self.image_shape),
                     "use the paper's 500 pseudo-inputs or fewer")
        self.num_pseudo_inputs = pseudo_inputs
        self.pseudo_pixels = nn.Parameter(  # P; the pseudo-inputs are hardtanh(P)
            torch.randn(pseudo_inputs, *self.image_shape) * pseudo_input_std + pseudo_input_mean)

    def players(self):
        nets, optimizer = super().players()["vae"]
        return {"vae": (nets + [self.pseudo_pixels], optimizer)}

    def pseudo_input_images(self) -> Tensor:
        """The pseudo-inputs u_k (K, C, H, W) in [-1, 1]."""
        return F.hardtanh(self.pseudo_pixels)

    def prior_components(self) -> tuple[Tensor, Tensor]:
        """``(mu, logvar)`` (K, latent_dim) of the mixture's components q(z | u_k)."""
        mu, logvar = self.encode(self.pseudo_input_images())
        return mu.float(), logvar.float()

    def log_prior(self, z: Tensor) -> Tensor:
        """``log p(z) = log (1/K) Σ_k q(z | u_k)`` of latents (..., latent_dim): shape (...)."""
        return gaussian_mixture_log_prob(z, *self.prior_components())

    def kl_estimate(self, params, z: Tensor) -> Tensor:
        """The single-sample estimate ``log q(z|x) - log p(z)`` (B,) at the reconstruction's draw z."""
        return self.log_posterior(params, z) - self.log_prior(z)

    @torch.no_grad()
    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` latents from the VampPrior: k uniform in 1..K, then ``z ~ q(z | u_k)``. Shape (n, latent_dim)."""
        k = torch.randint(self.num_pseudo_inputs, (n,), generator=generator)
        eps = torch.randn(n, self.latent_dim, generator=generator)
        mu, logvar = self.prior_components()
        return mu[k.to(mu.device)] + torch.exp(0.5 * logvar[k.to(mu.device)]) * eps.to(mu.device)
