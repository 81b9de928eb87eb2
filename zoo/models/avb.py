"""Adversarial variational Bayes (Mescheder et al. 2017): a VAE with an implicit encoder whose KL term is estimated
by an adversary T(x, z)."""

import torch
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor

from zoo.arguments import PositiveFloat
from zoo.core.base import LossTerms, Update
from zoo.core.variational import VariationalModel
from zoo.losses.gan import discriminator_accuracy, gan_discriminator_loss
from zoo.nets import ConvDecoder, EncoderFactory, GeneratorFactory, JointDiscriminator, JointFactory, NoisyEncoder
from zoo.registry import register


@register(family="vae", paper="Mescheder, Nowozin & Geiger 2017, Adversarial Variational Bayes, arXiv:1701.04722")
class AVB(VariationalModel):
    """The encoder draws ``z = E(x, ε)``, ε ~ N(0, I): a posterior q(z|x) of any shape, whose density is unknown. The
    ELBO's ``KL(q(z|x) || p(z)) = E_q[log q(z|x) - log p(z)]`` is estimated by an adversary T(x, z) trained with the
    logistic loss to tell pairs (x, z ~ q(z|x)) from (x, z ~ p(z)) (eq. 3.3); its optimum is
    ``T*(x, z) = log q(z|x) - log p(z)`` (Prop. 1). Encoder and decoder then maximise ``E_q[log p(x|z) - T(x, z)]``
    with T held fixed (eq. 3.7; the gradient through T*'s own dependence on q vanishes, Prop. 2).

    Players, in order: ``t`` (the adversary), then ``vae`` (encoder + decoder), on one shared draw of z per
    iteration. The logged ``nelbo`` uses T's estimate of the KL, so it is only as good as T. (The paper's "adaptive
    contrast" refinement is not implemented.)

    Args:
        image_shape: (C, H, W) of the data (linked from the data module).
        latent_dim: size of z ~ N(0, I).
        encoder: factory ``(image_shape, latent_dim) -> net`` whose forward ``(x, noise=None)`` draws its own ε.
        decoder: factory ``(latent_dim, image_shape) -> net``.
        adversary: factory ``(image_shape, latent_dim, 1) -> net`` giving T(x, z).
        likelihood: ``bernoulli`` or ``gaussian`` decoder.
        decoder_std: fixed Gaussian pixel std, or None to learn it.
        optimizer: optimiser for encoder and decoder (None: Adam, lr 1e-3).
        adversary_optimizer: optimiser for T (None: Adam, lr 1e-3).
    """

    encoder_outputs_per_latent = 1  # the encoder outputs z itself
    gaussian_posterior = False  # no importance-sampled NLL (zoo.metrics.likelihood needs a Gaussian q)

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        latent_dim: int = 8,
        encoder: EncoderFactory = NoisyEncoder,
        decoder: GeneratorFactory = ConvDecoder,
        adversary: JointFactory = JointDiscriminator,
        likelihood: str = "bernoulli",
        decoder_std: PositiveFloat | None = None,
        optimizer: OptimizerCallable | None = None,
        adversary_optimizer: OptimizerCallable | None = None,
    ) -> None:
        super().__init__(image_shape, latent_dim, encoder, decoder, likelihood, 1.0, decoder_std, optimizer)
        self.adversary = adversary(self.image_shape, latent_dim, 1)
        self.adversary_optimizer = adversary_optimizer

    def training_only_nets(self) -> tuple[str, ...]:
        return ("adversary",)  # T(x, z) estimates the ELBO's KL term for training and validation only

    def players(self):
        return {"t": (self.adversary, self.adversary_optimizer), **super().players()}

    def updates(self) -> list[Update]:
        return [Update("t", self.adversary_loss), Update("vae", self.vae_loss)]

    def default_optimizer(self, player, params):
        return torch.optim.Adam(params, lr=1e-3)

    def encode(self, x: Tensor) -> Tensor:
        """One draw ``z ~ q(z|x)`` (B, latent_dim)."""
        return self.encoder(x)

    def latent_code(self, x: Tensor) -> Tensor:
        """The code of ε = 0 (B, latent_dim), the deterministic representative of q(z|x) that reconstruct uses."""
        return self.encoder(x, torch.zeros(x.shape[0], self.encoder.noise_dim, device=x.device))

    def reconstruct(self, x: Tensor) -> Tensor:
        """Decoder mean at the code of ε = 0, a deterministic representative of q(z|x), in [-1, 1]."""
        return self.generate(self.encoder(x, torch.zeros(x.shape[0], self.encoder.noise_dim, device=x.device)))

    def prepare(self, real: Tensor, due: set[str]) -> dict:
        if "vae" in due:  # keep the graph: the encoder's update back-propagates through this draw
            return {"z": self.encode(real)}
        with torch.no_grad():
            return {"z": self.encode(real)}

    def adversary_loss(self, real: Tensor, shared: dict) -> LossTerms:
        """Logistic loss of T: posterior pairs (x, z ~ q(z|x)) are labelled 1, prior pairs (x, z ~ p(z)) 0."""
        posterior_logits = self.adversary(real, shared["z"].detach())
        prior_logits = self.adversary(real, self.sample_latent(real.shape[0]))
        return {
            "loss": gan_discriminator_loss(posterior_logits, prior_logits),
            "accuracy": discriminator_accuracy(posterior_logits, prior_logits),
        }

    def vae_loss(self, real: Tensor, shared: dict) -> LossTerms:
        return self.elbo_terms(real, shared["z"])

    def elbo_terms(self, x: Tensor, z: Tensor | None = None) -> LossTerms:
        """``recon = -log p(x|z)``, ``kl = T(x, z)`` (the estimate), ``nelbo = recon + kl``; ``loss = nelbo``."""
        z = self.encode(x) if z is None else z
        recon = self.reconstruction_nll(self.decode(z), (x.float() + 1) / 2).mean()
        kl = self.adversary(x, z).float().mean()
        return {"loss": recon + kl, "recon": recon, "kl": kl, "nelbo": recon + kl}

