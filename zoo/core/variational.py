"""The variational loop: encode -> reparameterise -> decode, with the ELBO's terms in nats per image.

``log p(x) >= E_q[log p(x|z)] - KL(q(z|x) || p(z))`` (Kingma & Welling 2014, arXiv:1312.6114). Pixels are scored in
[0, 1]; ``recon = -E_q[log p(x|z)]`` and ``kl`` are summed over pixels / latent dimensions and averaged over images.

The posterior family is four hooks: :meth:`~VariationalModel.encode` (x -> its parameters),
:meth:`~VariationalModel.posterior_sample` (a reparameterised draw), :meth:`~VariationalModel.posterior_mode`
(the code used by ``reconstruct``) and :meth:`~VariationalModel.kl_divergence` (to the prior). The default is the
diagonal Gaussian; a subclass changes the family (e.g. Gumbel-softmax categoricals) by overriding them and
``encoder_outputs_per_latent``.

A conditional model (the CVAE) passes its labels as the last argument of ``encode``, ``decode``, ``generate``,
``reconstruct``, ``elbo_terms`` and ``evaluate`` (``*condition``), on to its nets; an unconditional one passes none.
"""

import math

import torch
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor, nn

from zoo.arguments import InvalidArgument, NonNegativeFloat, PositiveFloat
from zoo.core.base import GenerativeModel, LossTerms, Update
from zoo.losses.reconstruction import pixel_mse
from zoo.losses.variational import bernoulli_nll, gaussian_kl, gaussian_nll, reparameterize
from zoo.nets import EncoderFactory, GeneratorFactory

LIKELIHOODS = ("bernoulli", "gaussian")


class VariationalModel(GenerativeModel):
    """An encoder q(z|x) (by default N(mu, diag sigma²)), a decoder p(x|z) and the (beta-weighted) ELBO.

    Args:
        image_shape: (C, H, W) of the data.
        latent_dim: size of z.
        encoder: factory ``(image_shape, encoder_outputs_per_latent * latent_dim) -> net`` giving the posterior's
            parameters ((mu, log sigma²) for the Gaussian).
        decoder: factory ``(latent_dim, image_shape) -> net`` giving Bernoulli logits or Gaussian means (pre-sigmoid).
        likelihood: ``bernoulli`` or ``gaussian`` decoder p(x|z).
        beta: weight of the KL term in the training loss (beta-VAE, Higgins et al. 2017); the logged ELBO is
            always the true one (beta = 1).
        decoder_std: the Gaussian decoder's pixel standard deviation; None learns one shared value.
        optimizer: optimiser factory for encoder and decoder (None: Adam, lr 1e-3).
    """

    encoder_outputs_per_latent = 2
    """Encoder outputs per latent dimension: 2 for the Gaussian's (mu, log sigma²)."""

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        latent_dim: int,
        encoder: EncoderFactory,
        decoder: GeneratorFactory,
        likelihood: str = "bernoulli",
        beta: NonNegativeFloat = 1.0,
        decoder_std: PositiveFloat | None = None,
        optimizer: OptimizerCallable | None = None,
    ) -> None:
        super().__init__(image_shape, latent_dim)
        if likelihood not in LIKELIHOODS:
            raise InvalidArgument(f"unknown likelihood {likelihood!r}; choose one of {LIKELIHOODS}")
        self.encoder = encoder(self.image_shape, self.encoder_outputs_per_latent * latent_dim)
        self.decoder = decoder(latent_dim, self.image_shape)
        self.likelihood = likelihood
        self.beta = beta
        self.optimizer = optimizer
        log_std = torch.full((1,), math.log(decoder_std if decoder_std is not None else 0.1))
        if decoder_std is None and likelihood == "gaussian":
            self.log_std = nn.Parameter(log_std)  # learned: the decoder's noise level is calibrated by the ELBO
        else:
            self.register_buffer("log_std", log_std)

    def players(self):
        nets = [self.encoder, self.decoder] + ([self.log_std] if isinstance(self.log_std, nn.Parameter) else [])
        return {"vae": (nets, self.optimizer)}

    def updates(self) -> list[Update]:
        return [Update("vae", lambda real, shared: self.elbo_terms(real))]

    def default_optimizer(self, player, params):
        return torch.optim.Adam(params, lr=1e-3)

    def encode(self, x: Tensor, *condition: Tensor) -> tuple[Tensor, Tensor]:
        """``x (B, C, H, W) in [-1, 1] -> (mu, logvar)``, each (B, latent_dim): the posterior's parameters."""
        mu, logvar = self.encoder(x, *condition).chunk(2, dim=1)
        return mu, logvar

    def posterior_sample(self, params) -> Tensor:
        """A reparameterised draw z ~ q(z|x) (B, latent_dim), differentiable in the encoder's parameters."""
        mu, logvar = params
        return reparameterize(mu.float(), logvar.float())

    def posterior_mode(self, params) -> Tensor:
        """The representative code of q(z|x) used by :meth:`reconstruct` (the Gaussian's mean)."""
        return params[0]

    def kl_divergence(self, params) -> Tensor:
        """``KL(q(z|x) || p(z))`` per image (B,)."""
        mu, logvar = params
        return gaussian_kl(mu.float(), logvar.float())

    def decode(self, z: Tensor, *condition: Tensor) -> Tensor:
        """``z -> `` the decoder's raw output (Bernoulli logits or Gaussian pre-sigmoid means)."""
        return self.decoder(z, *condition)

    def mean_image(self, decoded: Tensor) -> Tensor:
        """The decoder's mean E[x|z] in [0, 1]."""
        return torch.sigmoid(decoded)

    def generate(self, z: Tensor, *condition: Tensor) -> Tensor:
        return self.mean_image(self.decode(z, *condition)) * 2 - 1

    def reconstruct(self, x: Tensor, *condition: Tensor) -> Tensor:
        """The mean reconstruction E[x | z = mode of q(z|x)] in [-1, 1]."""
        return self.generate(self.posterior_mode(self.encode(x, *condition)), *condition)

    def reconstruction_nll(self, decoded: Tensor, target: Tensor) -> Tensor:
        """``-log p(x|z)`` per image (B,), with ``target`` in [0, 1]."""
        if self.likelihood == "bernoulli":
            return bernoulli_nll(decoded.float(), target)
        return gaussian_nll(torch.sigmoid(decoded.float()), self.log_std, target)

    def elbo_terms(self, x: Tensor, *condition: Tensor) -> LossTerms:
        """``recon`` and ``kl`` (nats per image), ``nelbo = recon + kl`` and ``loss = recon + beta * kl``."""
        params = self.encode(x, *condition)
        z = self.posterior_sample(params)
        recon = self.reconstruction_nll(self.decode(z, *condition), (x.float() + 1) / 2).mean()
        kl = self.kl_divergence(params).mean()
        return {"loss": recon + self.beta * kl, "recon": recon, "kl": kl, "nelbo": recon + kl}

    def evaluate(self, real: Tensor, *condition: Tensor) -> LossTerms:
        terms = self.elbo_terms(real, *condition)
        recon_mse = pixel_mse(self.reconstruct(real, *condition), real)
        return {"nelbo": terms["nelbo"], "recon": terms["recon"], "kl": terms["kl"], "recon_mse": recon_mse}
