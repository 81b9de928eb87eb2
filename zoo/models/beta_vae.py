"""β-VAE: Higgins et al. 2017's weighted KL, or Burgess et al. 2018's KL pulled towards a growing capacity."""

from lightning.pytorch.cli import OptimizerCallable

from zoo.arguments import InvalidArgument, NonNegativeFloat, PositiveFloat, PositiveInt
from zoo.core.base import LossTerms, Update
from zoo.core.variational import VariationalModel
from zoo.losses.disentangling import capacity
from zoo.nets import ConvDecoder, ConvEncoder, EncoderFactory, GeneratorFactory
from zoo.registry import register

OBJECTIVES = ("higgins", "burgess")


@register(family="vae", name="beta_vae",
          paper="Higgins et al. 2017, beta-VAE: Learning Basic Visual Concepts with a Constrained Variational "
          "Framework, ICLR 2017; Burgess et al. 2018, Understanding disentangling in beta-VAE, arXiv:1804.03599")
class BetaVAE(VariationalModel):
    """A VAE whose KL term is weighted (``higgins``) or held at a capacity (``burgess``) to favour disentangled codes.

    * ``higgins`` (Higgins et al. 2017, eq. 4): ``loss = recon + β · KL(q(z|x) || N(0, I))``; β > 1 presses the
      posterior towards the factorised prior.
    * ``burgess`` (Burgess et al. 2018, controlled capacity increase): ``loss = recon + γ · |KL - C|``, with the
      capacity ``C = capacity_max · min(1, t / capacity_iterations)`` nats at training iteration t (batches seen, so
      a resumed run continues the schedule exactly); logged as ``train/vae/capacity``. As C grows the code takes on
      the factors of variation one after another, the one that reconstructs most first.

    ``recon`` and ``kl`` are nats per image; the logged ``nelbo`` is always the true negative ELBO ``recon + kl``.

    Args:
        image_shape: (C, H, W) of the data (linked from the data module).
        latent_dim: size of z (10 in both papers).
        encoder: factory ``(image_shape, 2 * latent_dim) -> net``.
        decoder: factory ``(latent_dim, image_shape) -> net``.
        likelihood: ``bernoulli`` or ``gaussian`` decoder.
        objective: ``higgins`` (β · KL) or ``burgess`` (γ · |KL - C|).
        beta: the KL weight of ``higgins`` (1 = the VAE; Higgins et al. used 4 on dSprites).
        gamma: the weight of ``|KL - C|`` in ``burgess`` (1000 in Burgess et al.).
        capacity_max: C at the end of the schedule, in nats (25 in Burgess et al. on dSprites).
        capacity_iterations: training iterations over which C rises linearly from 0 to ``capacity_max``.
        decoder_std: fixed Gaussian pixel std, or None to learn it.
        optimizer: optimiser factory (None: Adam, lr 1e-3).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        latent_dim: PositiveInt = 10,
        encoder: EncoderFactory = ConvEncoder,
        decoder: GeneratorFactory = ConvDecoder,
        likelihood: str = "bernoulli",
        objective: str = "higgins",
        beta: NonNegativeFloat = 4.0,
        gamma: PositiveFloat = 1000.0,
        capacity_max: NonNegativeFloat = 25.0,
        capacity_iterations: PositiveInt = 100_000,
        decoder_std: PositiveFloat | None = None,
        optimizer: OptimizerCallable | None = None,
    ) -> None:
        if objective not in OBJECTIVES:  # before any net is built
            raise InvalidArgument(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}. Fix: higgins "
                                  "weights the KL by beta (Higgins et al. 2017); burgess pulls it towards a growing "
                                  "capacity with gamma, capacity_max, capacity_iterations (Burgess et al. 2018).")
        super().__init__(image_shape, latent_dim, encoder, decoder, likelihood, beta, decoder_std, optimizer)
        self.objective = objective
        self.gamma = gamma
        self.capacity_max = capacity_max
        self.capacity_iterations = capacity_iterations

    def capacity(self, iteration: int | None = None) -> float:
        """Burgess et al.'s C in nats at training ``iteration`` (default: the current one)."""
        iteration = self.iteration if iteration is None else iteration
        return capacity(iteration, self.capacity_max, self.capacity_iterations)

    def updates(self) -> list[Update]:
        return [Update("vae", lambda real, shared: self.training_terms(real))]

    def training_terms(self, x) -> LossTerms:
        """The ELBO's terms with the chosen objective's ``loss`` (and, for ``burgess``, the capacity C)."""
        terms = self.elbo_terms(x)  # higgins: loss = recon + beta * kl
        if self.objective == "burgess":
            c = self.capacity()
            terms["loss"] = terms["recon"] + self.gamma * (terms["kl"] - c).abs()
            terms["capacity"] = terms["kl"].new_tensor(c)
        return terms
