"""The variational loop: encode -> reparameterise -> decode, with the ELBO's terms in nats per image.

``log p(x) >= E_q[log p(x|z)] - KL(q(z|x) || p(z))`` (Kingma & Welling 2014, arXiv:1312.6114). Pixels are scored in
[0, 1]; ``recon = -E_q[log p(x|z)]`` and ``kl`` are summed over pixels / latent dimensions and averaged over images.

The posterior family is four hooks: :meth:`~VariationalModel.encode` (x -> its parameters),
:meth:`~VariationalModel.posterior_sample` (a reparameterised draw), :meth:`~VariationalModel.posterior_mode`
(the code used by ``reconstruct``) and :meth:`~VariationalModel.kl_divergence` (to the prior). The default is the
diagonal Gaussian; a subclass changes the family (e.g. Gumbel-softmax categoricals) by overriding them and
``encoder_outputs_per_latent``.

The prior is :meth:`~VariationalModel.log_prior` (N(0, I) by default; the VampPrior overrides it together with
``sample_latent`` and :meth:`~VariationalModel.kl_estimate`). Importance sampling (the IWAE training bound and the
NLL of :mod:`zoo.metrics.likelihood`) reads one implementation of the log weights,
:meth:`~VariationalModel.log_weights`: ``log w = log p(x|z) + log p(z) - log q(z|x)``.

A conditional model (the CVAE) passes its labels as the last argument of ``encode``, ``decode``, ``generate``,
``reconstruct``, ``elbo_terms`` and ``evaluate`` (``*condition``), on to its nets; an unconditional one passes none.
"""

import math
from typing import NamedTuple

import torch
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor, nn

from zoo.arguments import InvalidArgument, NonNegativeFloat, PositiveFloat
from zoo.core.base import GenerativeModel, LossTerms, Update
from zoo.losses.reconstruction import pixel_mse
from zoo.losses.variational import bernoulli_nll, gaussian_kl, gaussian_nll, reparameterize
from zoo.nets import EncoderFactory, GeneratorFactory

LIKELIHOODS = ("bernoulli", "gaussian")


class LogWeights(NamedTuple):
    """The parts of the importance log weights ``log w = log p(x|z) + log p(z) - log q(z|x)``, each (B, n)."""

    log_px_z: Tensor
    log_pz: Tensor
    log_qz: Tensor

    @property
    def total(self) -> Tensor:
        """``log w`` (B, n)."""
        return self.log_px_z + self.log_pz - self.log_qz


def log_mean_exp(log_w: Tensor, dim: int = 1) -> Tensor:
    """``log (1/k) Σ_i exp(log_w_i)`` over ``dim`` (k its size), computed stably: the k-sample importance bound."""
    return torch.logsumexp(log_w, dim=dim) - math.log(log_w.shape[dim])


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

    def latent_code(self, x: Tensor) -> Tensor:
        """The posterior's representative code (B, latent_dim) (its mean for the Gaussian): what fitted latent
        priors are fitted to (:mod:`zoo.sampling.latent_priors`)."""
        return self.posterior_mode(self.encode(x))

    def kl_divergence(self, params) -> Tensor:
        """``KL(q(z|x) || p(z))`` per image (B,)."""
        mu, logvar = params
        return gaussian_kl(mu.float(), logvar.float())

    def kl_estimate(self, params, z: Tensor) -> Tensor:
        """The KL term of the ELBO per image (B,) given the draw ``z`` (B, latent_dim) used for the reconstruction:
        the closed form :meth:`kl_divergence` here; a prior with no closed-form KL (the VampPrior) returns the
        single-sample estimate ``log q(z|x) - log p(z)``."""
        return self.kl_divergence(params)

    def log_prior(self, z: Tensor) -> Tensor:
        """``log p(z)`` of latents (..., latent_dim), summed over the latent dimensions: shape (...).
        The standard Gaussian N(0, I) here; a learned prior overrides it (and ``sample_latent`` to match)."""
        return torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)

    def log_posterior(self, params, z: Tensor) -> Tensor:
        """``log q(z|x)`` of latents ``z`` (B, latent_dim) or (B, n, latent_dim) under each image's posterior
        ``params``, summed over the latent dimensions: shape (B,) or (B, n)."""
        mu, logvar = (t.float() for t in params)
        std = torch.exp(0.5 * logvar)
        if z.dim() == mu.dim() + 1:  # n draws per image
            mu, std = mu[:, None], std[:, None]
        return torch.distributions.Normal(mu, std).log_prob(z).sum(-1)

    def posterior_samples(self, params, n: int) -> Tensor:
        """``n`` reparameterised draws per image, z_i ~ q(z|x): shape (B, n, latent_dim)."""
        mu, logvar = (t.float() for t in params)
        std = torch.exp(0.5 * logvar)
        return mu[:, None] + std[:, None] * torch.randn(mu.shape[0], n, mu.shape[1], device=mu.device)

    def log_weights(self, target: Tensor, params, z: Tensor, *condition: Tensor) -> LogWeights:
        """The importance log weights of ``n`` draws per image (Burda et al. 2016, eq. 8):
        ``log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x)``, each part (B, n).

        Args:
            target: the images (B, C, H, W) in [0, 1] (the likelihood's range).
            params: their posterior's parameters, from :meth:`encode`.
            z: the draws (B, n, latent_dim), e.g. :meth:`posterior_samples`.
            condition: a conditional model's labels (B, ...), one per image.
        """
        n = z.shape[1]
        decoded = self.decode(z.flatten(0, 1), *(c.repeat_interleave(n, dim=0) for c in condition))
        log_px_z = -self.reconstruction_nll(decoded, target.repeat_interleave(n, dim=0)).view(-1, n)
        return LogWeights(log_px_z, self.log_prior(z), self.log_posterior(params, z))

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
        kl = self.kl_estimate(params, z).mean()
        return {"loss": recon + self.beta * kl, "recon": recon, "kl": kl, "nelbo": recon + kl}

    def evaluate(self, real: Tensor, *condition: Tensor) -> LossTerms:
        terms = self.elbo_terms(real, *condition)
        recon_mse = pixel_mse(self.reconstruct(real, *condition), real)
        return {"nelbo": terms["nelbo"], "recon": terms["recon"], "kl": terms["kl"], "recon_mse": recon_mse}
