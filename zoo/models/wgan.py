"""Wasserstein GANs: weight clipping (Arjovsky et al. 2017) and gradient penalty (Gulrajani et al. 2017).

Both train a critic D to maximise the Kantorovich-Rubinstein estimate ``E[D(x)] - E[D(G(z))]`` of the 1-Wasserstein
distance over (approximately) 1-Lipschitz functions, and G to minimise ``-E[D(G(z))]``. They differ in how the
Lipschitz constraint is kept: clipping every critic weight to [-c, c] after each step, or penalising
``(||∇D(x̂)||₂ - 1)²`` on random interpolates x̂ between real and generated images.
"""

from dataclasses import replace
from typing import Annotated

import torch
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor, nn

from zoo.arguments import NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt, Range
from zoo.core.adversarial import AdversarialModel, AdversarialTechniques
from zoo.core.base import LossTerms, Update
from zoo.losses.critics import gradient_penalty, wasserstein_critic_loss, wasserstein_generator_loss
from zoo.nets import DCGANCritic, DCGANDiscriminator, DCGANGenerator, EncoderFactory, GeneratorFactory
from zoo.registry import register


@torch.no_grad()
def clip_weights_(module: nn.Module, clip: float) -> None:
    """Clamp every parameter of ``module`` to [-clip, clip] in place (WGAN Algorithm 1, line 7)."""
    for parameter in module.parameters():
        parameter.clamp_(-clip, clip)


class _WassersteinGame(AdversarialModel):
    """The critic and generator losses shared by WGAN and WGAN-GP.

    Args:
        image_shape: (C, H, W) of the data (linked from the data module).
        latent_dim: size of z ~ N(0, I).
        generator: factory ``(latent_dim, image_shape) -> net`` (tanh is applied to its output).
        discriminator: factory ``(image_shape, 1) -> net`` giving one critic value per image.
        n_critic: critic steps per generator step.
        g_optimizer: optimiser factory for G (None: the model's default).
        d_optimizer: optimiser factory for the critic (None: the model's default).
        techniques: Salimans et al. stabilisers and generator EMA (None: all off).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        latent_dim: int = 100,
        generator: GeneratorFactory = DCGANGenerator,
        discriminator: EncoderFactory = DCGANDiscriminator,
        n_critic: int = 5,
        g_optimizer: OptimizerCallable | None = None,
        d_optimizer: OptimizerCallable | None = None,
        techniques: AdversarialTechniques | None = None,
    ) -> None:
        super().__init__(
            image_shape, latent_dim, generator, discriminator, n_critic, g_optimizer, d_optimizer, techniques
        )

    def critic_terms(self, real: Tensor, fake: Tensor) -> LossTerms:
        real_scores, fake_scores = self.discriminator(real), self.discriminator(fake)
        loss = wasserstein_critic_loss(real_scores, fake_scores)
        return {"loss": loss, "wasserstein": -loss}  # the critic's estimate of W1 (up to its Lipschitz constant)

    def generator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        return {"loss": wasserstein_generator_loss(self.discriminator(shared["fake"]))}

    def density_samplers(self) -> tuple[str, ...]:
        return ("ddls",)  # a critic estimates no density ratio: no DRS

    def energy(self, x: Tensor) -> Tensor:
        """``d(x) = D(x)``, the critic value itself: for the Wasserstein GAN, Che et al. (2020) derive the corrected
        density ``p_t ∝ p_g·e^{D(x)}`` (the optimum of the critic's dual objective regularised by KL(p_t || p_g)).
        The critic is no density-ratio estimate, so DRS does not apply."""
        return self.discriminator(x).flatten().float()

    def evaluate(self, real: Tensor) -> LossTerms:
        fake = self.generate(self.sample_latent(real.shape[0]))
        return {"d/wasserstein": self.critic_terms(real, fake)["wasserstein"]}


def critic_schedule_due(
    iteration: int, n_critic: int, warmup_n_critic: int, warmup_generator_steps: int, boost_every: int
) -> bool:
    """Whether the generator steps after batch ``iteration`` (0-based) under WGAN's critic schedule.

    Generator step g follows ``warmup_n_critic`` critic steps when ``g < warmup_generator_steps`` or ``g`` is a
    positive multiple of ``boost_every`` (0: never), and ``n_critic`` otherwise (the reference code of Arjovsky
    et al.: 100, 25 and 500). The critic steps on every batch, so generator step g happens after batch
    ``C(g) = Σ_{j<=g} cost(j)``; C is strictly increasing, found here by bisection, so the schedule is a pure
    function of the iteration and a resumed run keeps it.
    """
    extra = warmup_n_critic - n_critic

    def batches_until(g: int) -> int:  # C(g)
        boosted = min(g + 1, warmup_generator_steps)
        if boost_every > 0 and g >= warmup_generator_steps:
            boosted += g // boost_every - (warmup_generator_steps - 1) // boost_every  # multiples in [W, g]
        return n_critic * (g + 1) + extra * boosted

    batches = iteration + 1
    low, high = 0, batches  # C(g) >= g + 1, so the step due at `batches` (if any) has g < batches
    while low < high:
        middle = (low + high) // 2
        if batches_until(middle) < batches:
            low = middle + 1
        else:
            high = middle
    return batches_until(low) == batches


@register(family="gan", paper="Arjovsky et al. 2017, Wasserstein GAN, arXiv:1701.07875")
class WGAN(_WassersteinGame):
    """``min_G max_{||D||_L <= K} E[D(x)] - E[D(G(z))]`` with the critic's weights clipped to [-c, c] after every
    step (Algorithm 1: c = 0.01, RMSprop lr 5e-5, n_critic = 5). As in the authors' code, the critic is trained
    nearly to optimality (``warmup_n_critic`` = 100 steps) before each of the first 25 generator steps and every
    500th one; set ``warmup_n_critic = n_critic`` for a plain n_critic schedule.

    Args:
        clip: weight-clipping bound c.
        warmup_n_critic: critic steps before each of the first ``warmup_generator_steps`` generator steps and
            every ``boost_every``-th one.
        warmup_generator_steps: how many generator steps start with the long critic phase.
        boost_every: period, in generator steps, of the later long critic phases (0: none after the first ones).
        **kwargs: nets, ``n_critic`` (5), optimisers (None: RMSprop, lr 5e-5) and ``techniques``, as in the shared
            Wasserstein game.
    """

    def __init__(
        self,
        clip: PositiveFloat = 0.01,
        warmup_n_critic: Annotated[
            int, Range(low=1, hint="set warmup_n_critic = n_critic to train with a plain n_critic schedule")
        ] = 100,
        warmup_generator_steps: NonNegativeInt = 25,
        boost_every: NonNegativeInt = 500,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.clip = clip
        self.warmup = (warmup_n_critic, warmup_generator_steps, boost_every)
        clip_weights_(self.discriminator, clip)  # the critic starts inside the constraint set

    def updates(self) -> list[Update]:
        critic, generator = super().updates()
        return [critic, replace(generator, due=lambda iteration: critic_schedule_due(iteration, self.n_critic, *self.warmup))]

    def default_optimizer(self, player, params):
        return torch.optim.RMSprop(params, lr=5e-5)  # momentum-free: Adam made the clipped critic unstable (§4)

    def discriminator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        return self.critic_terms(real, shared["fake"].detach())

    def after_update(self, player: str) -> None:
        if player == "d":
            clip_weights_(self.discriminator, self.clip)
        super().after_update(player)


@register(family="gan", paper="Gulrajani et al. 2017, Improved Training of Wasserstein GANs, arXiv:1704.00028")
class WGANGP(_WassersteinGame):
    """The Wasserstein game with ``λ E[(||∇_x̂ D(x̂)||₂ - 1)²]`` added to the critic's loss, x̂ uniform on lines
    between real and generated images (Algorithm 1: λ = 10, n_critic = 5, Adam(1e-4, betas (0, 0.9)), a critic
    without batch norm).

    Mixed precision: the penalty is the gradient of the critic's raw output at float32 interpolates, with its norm
    in float32; it is part of the loss given to ``manual_backward``, so a 16-mixed GradScaler scales it once with
    the rest of the loss, and under DDP it is reduced by the same backward.

    Args:
        discriminator: factory ``(image_shape, 1) -> net``; keep batch norm out of it.
        gp_weight: λ, the weight of the gradient penalty.
        **kwargs: ``latent_dim``, ``generator``, ``n_critic`` (5), optimisers (None: Adam, lr 1e-4, betas (0, 0.9))
            and ``techniques``, as in the shared Wasserstein game.
    """

    def __init__(self, discriminator: EncoderFactory = DCGANCritic, gp_weight: NonNegativeFloat = 10.0, **kwargs) -> None:
        super().__init__(discriminator=discriminator, **kwargs)
        self.gp_weight = gp_weight

    def default_optimizer(self, player, params):
        return torch.optim.Adam(params, lr=1e-4, betas=(0.0, 0.9))

    def discriminator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        fake = shared["fake"].detach()
        terms = self.critic_terms(real, fake)
        penalty = gradient_penalty(self.discriminator, real, fake)
        return {**terms, "loss": terms["loss"] + self.gp_weight * penalty, "gradient_penalty": penalty}
