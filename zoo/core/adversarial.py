"""The adversarial game: a generator G(z) against a discriminator (or critic) D(x), k D-steps per G-step.

Every model of the family also accepts :class:`AdversarialTechniques`, the stabilisers of Salimans et al. (2016),
spectral normalisation (Miyato et al. 2018) and a generator EMA, handled here once: a model only defines its two
losses.
"""

from dataclasses import dataclass

import torch
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor, nn

from zoo.arguments import InvalidArgument, PositiveInt
from zoo.core.averaging import RunningMean, WeightEMA
from zoo.core.base import GenerativeModel, LossTerms, Update
from zoo.losses.stabilisers import feature_matching_loss
from zoo.nets import EncoderFactory, GeneratorFactory, MinibatchDiscrimination, spectral_normalise


@dataclass
class AdversarialTechniques:
    """Optional stabilisers for any adversarial model (all off by default, but SNGAN's spectral normalisation), set
    in YAML as ``techniques: {feature_matching: true, ema_decay: 0.999, spectral_norm: true}``.

    Salimans et al. 2016, Improved Techniques for Training GANs (arXiv:1606.03498), spectral normalisation (Miyato
    et al. 2018, arXiv:1802.05957) and a generator EMA (Karras et al. 2018; Yazıcı et al. 2019). One-sided label
    smoothing belongs to the losses that have labels: see GAN's ``real_label``.

    Attributes:
        feature_matching: replace G's loss by ``||E f(x) - E f(G(z))||²`` on the discriminator's ``features`` (§3.1).
        minibatch_kernels: > 0 wraps the discriminator in a minibatch-discrimination layer with this many kernels
            between its ``features`` and its ``head`` (§3.2). Such a discriminator scores batches: trained on batches
            that are all real or all generated, its optimum tells ``Π_j p_data(x_j)`` from ``Π_j p_g(x_j)``, so one
            image's output mixes its own ratio with the rest of its batch's and no per-image ``log p_data/p_g`` can
            be read from it: DRS and DDLS refuse such a model.
        minibatch_kernel_dim: size of each minibatch kernel's projection.
        historical_averaging: > 0 adds this weight times ``||θ - (1/t) Σ_i θ[i]||²`` to both players' losses (§3.3).
        ema_decay: > 0 keeps an exponential moving average of G's weights with this decay (e.g. 0.999), updated after
            each G step and used whenever the model is in eval mode (``sample``, validation, image grids). D was
            trained against the raw G, so its ratio is ``p_data/p_G``, not ``p_data/p_EMA``: DRS and DDLS propose
            from the raw G (:meth:`AdversarialModel.proposal`), the one distribution the ratio corrects.
        spectral_norm: use every weight W of the discriminator's linear, convolutional and transposed-convolutional
            layers (minibatch discrimination's too) as ``W / σ(W)``, σ its largest singular value estimated by one
            power iteration per training forward pass (:mod:`zoo.nets.spectral`); None: the model's default (on for
            SNGAN, off for the others). The power-iteration vectors are buffers, saved and resumed with the weights.
        generator_spectral_norm: the same for the generator's layers (the EMA copy averages the raw weights and
            copies the vectors).
    """

    feature_matching: bool = False
    minibatch_kernels: int = 0
    minibatch_kernel_dim: int = 5
    historical_averaging: float = 0.0
    ema_decay: float = 0.0
    spectral_norm: bool | None = None
    generator_spectral_norm: bool = False

    def __post_init__(self) -> None:
        if self.minibatch_kernels < 0 or self.minibatch_kernel_dim < 1:
            raise InvalidArgument("minibatch_kernels must be >= 0 and minibatch_kernel_dim >= 1")
        if self.historical_averaging < 0:
            raise InvalidArgument(f"historical_averaging is a penalty weight (>= 0), got {self.historical_averaging}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise InvalidArgument(f"ema_decay must be in [0, 1) (0: no EMA), got {self.ema_decay}")


class AdversarialModel(GenerativeModel):
    """Generator vs discriminator (Goodfellow et al. 2014, Algorithm 1): a D update on every batch, a G update on
    every ``n_critic``-th batch. One generated batch per iteration serves both updates: D sees it detached, G's
    update back-propagates through the freshly updated D into G.

    Subclasses define :meth:`discriminator_loss` and :meth:`generator_loss` (and the constructor's defaults); they
    may extend :meth:`after_update` (calling ``super()``) for weight clipping or control variables, and set
    :attr:`spectral_norm_by_default` where the paper normalises the discriminator.

    Args:
        image_shape: (C, H, W) of the data.
        latent_dim: size of z ~ N(0, I).
        generator: factory ``(latent_dim, image_shape) -> net``; its raw output goes through tanh.
        discriminator: factory ``(image_shape, discriminator_out_features) -> net``.
        n_critic: discriminator updates per generator update (k in Algorithm 1).
        g_optimizer: optimiser factory for G (None: the model's default).
        d_optimizer: optimiser factory for D (None: the model's default).
        techniques: stabilisers and generator EMA (None: all off); see :class:`AdversarialTechniques`.
        discriminator_out_features: width of D's output: 1 for a logit or critic value, more for a code.
    """

    spectral_norm_by_default = False
    """Whether the discriminator is spectrally normalised when ``techniques.spectral_norm`` is None."""

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        latent_dim: int,
        generator: GeneratorFactory,
        discriminator: EncoderFactory,
        n_critic: PositiveInt = 1,
        g_optimizer: OptimizerCallable | None = None,
        d_optimizer: OptimizerCallable | None = None,
        techniques: AdversarialTechniques | None = None,
        discriminator_out_features: PositiveInt = 1,
    ) -> None:
        super().__init__(image_shape, latent_dim)
        self.techniques = techniques = techniques or AdversarialTechniques()
        self.generator = generator(latent_dim, self.image_shape)
        self.discriminator = discriminator(self.image_shape, discriminator_out_features)
        if techniques.minibatch_kernels > 0:
            self.discriminator = MinibatchDiscrimination(
                self.discriminator, techniques.minibatch_kernels, techniques.minibatch_kernel_dim
            )
        if self.spectral_norm:  # after the wrapping: the minibatch layers are normalised too
            spectral_normalise(self.discriminator, "discriminator")
        if techniques.generator_spectral_norm:  # before the EMA copy, which then holds the same layers
            spectral_normalise(self.generator, "generator")
        if techniques.feature_matching and not callable(getattr(self.discriminator, "features", None)):
            raise InvalidArgument(f"feature matching needs a discriminator with features(); {type(self.discriminator)}")
        self.generator_ema = WeightEMA(self.generator, techniques.ema_decay) if techniques.ema_decay > 0 else None
        self.weight_history = None
        if techniques.historical_averaging > 0:
            self.weight_history = nn.ModuleDict(
                {"d": RunningMean(self.discriminator), "g": RunningMean(self.generator)}
            )
        self.n_critic = n_critic
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer

    @property
    def spectral_norm(self) -> bool:
        """Whether the discriminator is spectrally normalised (``techniques.spectral_norm``, else the model's
        default)."""
        chosen = self.techniques.spectral_norm
        return self.spectral_norm_by_default if chosen is None else chosen

    def players(self):
        return {"d": (self.discriminator, self.d_optimizer), "g": (self.generator, self.g_optimizer)}

    def updates(self) -> list[Update]:
        return [Update("d", self._discriminator_update), Update("g", self._generator_update, every=self.n_critic)]

    def default_optimizer(self, player, params):
        return torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999))

    def generate(self, z: Tensor, *condition: Tensor) -> Tensor:
        """``tanh(G(z))`` (a conditional model's ``tanh(G(z, labels))``); in eval mode with a generator EMA, the
        averaged generator's."""
        net = self.generator if self.generator_ema is None or self.training else self.generator_ema
        return torch.tanh(net(z, *condition))

    def proposal(self, z: Tensor, *condition: Tensor) -> Tensor:
        """``tanh(G(z))`` of the raw generator, the one D was trained against (never the EMA)."""
        return torch.tanh(self.generator(z, *condition))

    def training_only_nets(self) -> tuple[str, ...]:
        """The discriminator, where no sampler reads it (EBGAN's and BEGAN's autoencoders, f-GAN's total-variation
        critic): then only the training losses call it."""
        return () if self.density_samplers() else ("discriminator",)

    def sampler_obstacle(self) -> str | None:
        if self.techniques.minibatch_kernels > 0:
            return ("but its discriminator uses minibatch discrimination: its output for one image depends on the "
                    "rest of the batch, and at its optimum it scores whole batches, so no per-image ratio exists "
                    "(train without minibatch_kernels to use DRS or DDLS)")
        return None

    def prepare(self, real: Tensor, due: set[str], *condition: Tensor) -> dict:
        """One batch of latents and of images made from them (for a conditional model, of the batch's labels: the
        generator's label distribution is the data's), shared by this iteration's updates."""
        z = self.sample_latent(real.shape[0])
        if "g" in due:  # keep the graph: the generator update back-propagates through this batch
            return {"z": z, "fake": self.generate(z, *condition)}
        with torch.no_grad():
            return {"z": z, "fake": self.generate(z, *condition)}

    def discriminator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        """D's loss on real images and ``shared["fake"]`` (use it detached)."""
        raise NotImplementedError

    def generator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        """G's loss on ``shared["fake"]`` (keep its graph)."""
        raise NotImplementedError

    def after_update(self, player: str) -> None:
        """Record the new weights in the historical average and, after a G step, in the generator EMA."""
        if self.weight_history is not None and player in self.weight_history:
            self.weight_history[player].update(self._net_of(player))
        if player == "g" and self.generator_ema is not None:
            self.generator_ema.update(self.generator)

    # --- the techniques, wrapped around the model's own losses -------------------------------------------------

    def _net_of(self, player: str) -> nn.Module:
        return {"d": self.discriminator, "g": self.generator}[player]

    def _discriminator_update(self, real: Tensor, shared: dict) -> LossTerms:
        return self._with_historical_averaging("d", self.discriminator_loss(real, shared))

    def _generator_update(self, real: Tensor, shared: dict) -> LossTerms:
        if self.techniques.feature_matching:
            with torch.no_grad():  # the target statistics: G's update does not move D
                real_features = self.discriminator.features(real)
            matching = feature_matching_loss(real_features, self.discriminator.features(shared["fake"]))
            terms = {"loss": matching, "feature_matching": matching}
        else:
            terms = self.generator_loss(real, shared)
        return self._with_historical_averaging("g", terms)

    def _with_historical_averaging(self, player: str, terms: LossTerms) -> LossTerms:
        if self.weight_history is None:
            return terms
        penalty = self.weight_history[player].penalty(self._net_of(player))
        loss = terms["loss"] + self.techniques.historical_averaging * penalty
        return {**terms, "loss": loss, "historical_averaging": penalty}
