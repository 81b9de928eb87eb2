"""VAE with categorical latents relaxed by Gumbel-softmax (Jang et al. 2016; Maddison et al. 2016, the "concrete")."""

import math

import torch
import torch.nn.functional as F
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor

from typing import Annotated

from zoo.arguments import InvalidArgument, PositiveInt, PositiveFloat, NonNegativeFloat, Range
from zoo.core.base import LossTerms
from zoo.core.variational import VariationalModel
from zoo.losses.variational import categorical_kl_uniform, gumbel_softmax
from zoo.nets import ConvDecoder, ConvEncoder, EncoderFactory, GeneratorFactory
from zoo.registry import register


@register(
    family="vae",
    paper="Jang, Gu & Poole 2016, Categorical Reparameterization with Gumbel-Softmax, arXiv:1611.01144; "
    "Maddison, Mnih & Teh 2016, The Concrete Distribution, arXiv:1611.00712",
    name="gumbel_vae",
)
class GumbelSoftmaxVAE(VariationalModel):
    """``z`` is N independent K-way categorical variables (one-hot, concatenated: N·K inputs to the decoder).

    Training maximises ``E_q[log p(x|z)] - KL(q(z|x) || Uniform)`` with z drawn by the Gumbel-softmax relaxation at
    temperature ``τ = max(τ_min, τ0·exp(-r·iteration))`` (Jang et al. Sec. 3.1 anneal the same way); ``hard`` uses the
    straight-through estimator (one-hot forward, soft gradient). In eval mode the posterior draws are exact one-hot
    samples, so the logged ``val/nelbo`` and ``test/nelbo`` are the ELBO of the discrete model.

    Args:
        image_shape: (C, H, W) of the data (linked from the data module).
        num_latents: N, the number of categorical variables.
        categories: K, the classes of each variable.
        encoder: factory ``(image_shape, N·K) -> net`` giving the logits.
        decoder: factory ``(N·K, image_shape) -> net``.
        likelihood: ``bernoulli`` or ``gaussian`` decoder.
        beta: weight of the KL term in the training loss.
        decoder_std: fixed Gaussian pixel std, or None to learn it.
        temperature: τ0, the starting temperature.
        min_temperature: τ_min, the floor of the annealing.
        anneal_rate: r, the exponential decay per training iteration.
        hard: straight-through one-hot samples in training instead of soft ones.
        optimizer: optimiser factory (None: Adam, lr 1e-3).
    """

    encoder_outputs_per_latent = 1  # one logit per (variable, class)
    gaussian_posterior = False  # no importance-sampled NLL (zoo.metrics.likelihood needs a Gaussian q)

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        num_latents: PositiveInt = 20,
        categories: Annotated[int, Range(low=2)] = 10,
        encoder: EncoderFactory = ConvEncoder,
        decoder: GeneratorFactory = ConvDecoder,
        likelihood: str = "bernoulli",
        beta: NonNegativeFloat = 1.0,
        decoder_std: PositiveFloat | None = None,
        temperature: PositiveFloat = 1.0,
        min_temperature: PositiveFloat = 0.5,
        anneal_rate: NonNegativeFloat = 1e-4,
        hard: bool = False,
        optimizer: OptimizerCallable | None = None,
    ) -> None:
        super().__init__(
            image_shape, num_latents * categories, encoder, decoder, likelihood, beta, decoder_std, optimizer
        )
        if min_temperature > temperature:
            raise InvalidArgument(f"min_temperature must be <= temperature, got {min_temperature} > {temperature}")
        self.num_latents = num_latents
        self.categories = categories
        self.initial_temperature = temperature
        self.min_temperature = min_temperature
        self.anneal_rate = anneal_rate
        self.hard = hard

    @property
    def temperature(self) -> float:
        """τ at the current training iteration."""
        return max(self.min_temperature, self.initial_temperature * math.exp(-self.anneal_rate * self.iteration))

    def encode(self, x: Tensor) -> Tensor:
        """``x -> logits (B, N, K)`` of q(z|x)."""
        return self.encoder(x).view(-1, self.num_latents, self.categories)

    def posterior_sample(self, logits: Tensor) -> Tensor:
        """A relaxed sample in training, an exact one-hot sample in eval mode; flattened to (B, N·K)."""
        hard = self.hard or not self.training
        return gumbel_softmax(logits.float(), self.temperature, hard=hard).flatten(1)

    def posterior_mode(self, logits: Tensor) -> Tensor:
        """The most probable class of every variable, one-hot (B, N·K)."""
        return F.one_hot(logits.argmax(-1), self.categories).flatten(1).float()

    @classmethod
    def latent_code_obstacle(cls) -> str:
        return ("its code is discrete (one-hot categoricals), which a Gaussian mixture or a second Gaussian VAE "
                "cannot model; its uniform prior already matches the categorical posterior's support")

    def latent_code(self, x: Tensor) -> Tensor:
        from zoo.sampling.latent_priors import latent_code_refusal

        raise latent_code_refusal(self)

    def kl_divergence(self, logits: Tensor) -> Tensor:
        return categorical_kl_uniform(logits)

    def elbo_terms(self, x: Tensor) -> LossTerms:
        terms = super().elbo_terms(x)
        terms["temperature"] = torch.tensor(self.temperature)
        return terms

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """One-hot codes from the uniform prior: every variable's class drawn uniformly. Shape (n, N·K)."""
        classes = torch.randint(self.categories, (n, self.num_latents), generator=generator)
        return F.one_hot(classes, self.categories).flatten(1).float().to(self.device)
