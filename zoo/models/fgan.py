"""f-GAN (Nowozin et al. 2016): generative samplers trained by variational divergence minimisation.

For a convex f with f(1) = 0, ``D_f(P || Q) >= sup_T E_P[T(x)] - E_Q[f*(T(x))]`` (eq. 4), tight at
``T*(x) = f'(p(x)/q(x))``. The critic is ``T(x) = g_f(V(x))`` with V a network and g_f an output activation onto
the domain of the conjugate f*; it ascends the bound while the generator descends it. The table of divergences
(f, f*, g_f, f') is in :mod:`zoo.losses.fgan`.
"""

from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor

from zoo.arguments import InvalidArgument, named_choice
from zoo.core.adversarial import AdversarialModel, AdversarialTechniques
from zoo.core.base import LossTerms
from zoo.losses.fgan import (
    F_DIVERGENCES,
    f_divergence,
    fgan_discriminator_loss,
    fgan_divergence_estimate,
    fgan_generator_loss,
)
from zoo.nets import DCGANDiscriminator, DCGANGenerator, EncoderFactory, GeneratorFactory
from zoo.registry import register
from zoo.sampling.modes import SamplerNotApplicable, refusal

DIVERGENCES = tuple(F_DIVERGENCES)


@register(family="gan", paper="Nowozin et al. 2016, f-GAN: Training Generative Neural Samplers using Variational "
          "Divergence Minimization, arXiv:1606.00709")
class FGAN(AdversarialModel):
    """``min_G max_V E_P[g_f(V(x))] - E_Q[f*(g_f(V(G(z))))]`` for the f-divergence named by ``divergence``.

    Divergences: ``kl``, ``reverse_kl``, ``jensen_shannon``, ``gan``, ``pearson``, ``neyman``, ``squared_hellinger``,
    ``total_variation``. The logged ``train/d/divergence`` is the critic's lower bound on D_f(P_data || Q_model).

    Args:
        image_shape: (C, H, W) of the data (linked from the data module).
        latent_dim: size of z ~ N(0, I).
        generator: factory ``(latent_dim, image_shape) -> net`` (tanh is applied to its output).
        discriminator: factory ``(image_shape, 1) -> net`` giving V(x), one unconstrained value per image.
        divergence: the f-divergence to minimise (a name of the table above).
        generator_objective: ``non_saturating`` (maximise E_Q[g_f(V)], the paper's §3.2 choice) or ``saddle``
            (minimise the bound itself).
        n_critic: critic steps per generator step (the paper's single-step algorithm is 1).
        g_optimizer: optimiser factory for G (None: Adam, lr 2e-4, betas (0.5, 0.999)).
        d_optimizer: optimiser factory for V (None: the same).
        techniques: Salimans et al. stabilisers and generator EMA (None: all off).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        latent_dim: int = 100,
        generator: GeneratorFactory = DCGANGenerator,
        discriminator: EncoderFactory = DCGANDiscriminator,
        divergence: str = "pearson",
        generator_objective: str = "non_saturating",
        n_critic: int = 1,
        g_optimizer: OptimizerCallable | None = None,
        d_optimizer: OptimizerCallable | None = None,
        techniques: AdversarialTechniques | None = None,
    ) -> None:
        super().__init__(
            image_shape, latent_dim, generator, discriminator, n_critic, g_optimizer, d_optimizer, techniques
        )
        self.divergence = named_choice("divergence", f_divergence, divergence)
        if generator_objective not in ("non_saturating", "saddle"):
            raise InvalidArgument(
                f"unknown generator_objective {generator_objective!r}; choose non_saturating or saddle"
            )
        self.generator_objective = generator_objective

    def discriminator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        real_v, fake_v = self.discriminator(real), self.discriminator(shared["fake"].detach())
        loss = fgan_discriminator_loss(real_v, fake_v, self.divergence)
        return {"loss": loss, "divergence": -loss}

    def generator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        fake_v = self.discriminator(shared["fake"])
        return {"loss": fgan_generator_loss(fake_v, self.divergence, self.generator_objective)}

    def density_samplers(self) -> tuple[str, ...]:
        return () if self.divergence.log_ratio is None else ("drs", "ddls")

    def log_density_ratio(self, x: Tensor) -> Tensor:
        """``log p_data/p_g = log (f')⁻¹(g_f(V(x)))``: the optimal critic is ``T*(x) = f'(p/q)`` (Nowozin et al.
        eq. 5), inverted per divergence in the table (for Pearson χ², ``log(1 + T/2)``). Total variation's f' is a
        step function with no inverse, so it is refused."""
        if self.divergence.log_ratio is None:
            raise self.sampler_refusal("drs")
        return self.divergence.log_ratio(self.discriminator(x).flatten().float())

    def sampler_refusal(self, sampler: str) -> SamplerNotApplicable:
        if self.divergence.log_ratio is None:
            reason = f"but f'(u) of divergence {self.divergence.name!r} cannot be inverted for p/q"
            return refusal(self, sampler, reason)
        return super().sampler_refusal(sampler)

    def evaluate(self, real: Tensor) -> LossTerms:
        fake = self.generate(self.sample_latent(real.shape[0]))
        estimate = fgan_divergence_estimate(self.discriminator(real), self.discriminator(fake), self.divergence)
        return {"d/divergence": estimate}
