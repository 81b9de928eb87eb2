"""The one training loop of zoo: every model is a list of optimiser updates run on each batch.

A model names its *players* (a set of networks with one optimiser each: ``"d"``, ``"g"``, ``"vae"``, ...) and the
*updates* of one training iteration, in order. For a GAN that is Algorithm 1 of Goodfellow et al. (2014): a
discriminator update on every batch and a generator update on every ``n_critic``-th batch, so that the generator
moves once per k discriminator steps, each on a fresh minibatch.

Labels. Every batch is ``(images, labels)``; the loop hands a model what :meth:`GenerativeModel.batch_condition`
takes from a batch (nothing for an unconditional model, the batch's labels for a conditional one) as one more
argument of :meth:`~GenerativeModel.prepare` and :meth:`~GenerativeModel.evaluate`, and a conditional model's
``generate``, ``reconstruct``, ``encode`` take the labels the same way (``generate(z, labels)``). An unconditional
model is called exactly as before. The conditioning API every model has:

* ``model.num_classes``: int, 0 for an unconditional model;
* ``model.class_names``: tuple of str, the classes' (or attributes') names in label order, ``()`` when unconditional;
* ``model.conditional``: bool, ``num_classes > 0``;
* ``model.label_kind``: ``"class"`` (labels are int64 class indices (B,)) or ``"attributes"`` (labels are (B, k) 0/1
  multi-hot vectors over the k attributes, CelebA's);
* ``model.sample(n, z=None, seed=None, labels=None)``: ``labels`` as class indices (a tensor or list), class names
  (matched case-insensitively), or for attribute models a (n, k) 0/1 tensor or lists of attribute names; one label
  is used for all n. Without labels a conditional model draws them: classes uniformly, attributes each from its
  frequency in the training labels seen (0.5 before any). :func:`zoo.sampling.labels.resolve_labels` reads them,
  and refuses labels for an unconditional model, naming the models that take them.

Conditional models mix :class:`zoo.core.conditioning.Conditional` into their family's base.

Counting steps. Lightning's ``global_step`` (and so ``Trainer(max_steps=...)``, ``ModelCheckpoint(every_n_train_steps)``)
counts *optimiser* steps: a GAN with ``n_critic=1`` advances it by 2 per batch; with ``n_critic=5`` by 6 every 5
batches. The x-axis of every logged curve, and ``model.iteration``, count *training batches* instead (one iteration =
one batch = one pass through ``updates()``), which is what the images and dashboards are indexed by.
"""

import dataclasses
import functools
import inspect
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import lightning as L
from lightning.pytorch.utilities import rank_zero_warn
import torch
from torch import Tensor, nn

from zoo.arguments import AT_LEAST_1, SEED, InvalidArgument, PositiveInt, check_arguments, check_memory, check_value
from zoo.core.codes import LatentCodes
from zoo.core.omitted import OMITTED_KEY, cannot_train_from
from zoo.core.rng import capture_rng_state, restore_rng_state
from zoo.sampling.labels import resolve_labels
from zoo.sampling.latent_priors import (PLAIN, check_prior, latent_code_refusal, priors_from_checkpoint,
                                        priors_to_checkpoint)
from zoo.sampling.modes import SamplerNotApplicable, refusal

LossTerms = dict[str, Tensor]
"""A loss function's result: ``"loss"`` (what is minimised) plus any other terms, all logged."""


@dataclass(frozen=True)
class Update:
    """One optimiser step of one player within a training iteration.

    Attributes:
        player: the optimiser to step and the log group (``train/<player>/<term>``).
        loss: ``(real_images, shared) -> LossTerms``; ``shared`` is what :meth:`GenerativeModel.prepare` returned
            (a conditional model's holds the batch's ``"labels"``).
        every: run on iterations ``i`` with ``(i + 1) % every == 0`` (``n_critic`` for a generator).
        due: a schedule ``iteration -> bool`` that replaces ``every`` when given (e.g. WGAN's critic warm-up).
    """

    player: str
    loss: Callable[[Tensor, dict], LossTerms]
    every: int = 1
    due: Callable[[int], bool] | None = None

    def is_due(self, iteration: int) -> bool:
        """Whether this update runs on (0-based) training iteration ``iteration``."""
        return self.due(iteration) if self.due is not None else (iteration + 1) % self.every == 0


def _as_config(value):
    """A class, a ``functools.partial`` of one with keyword arguments, or a dataclass instance, as the YAML-style
    value a config would give (``{"class_path": ..., "init_args": ...}``, a dict); anything else unchanged."""
    if isinstance(value, type):
        return {"class_path": f"{value.__module__}.{value.__qualname__}"}
    if isinstance(value, functools.partial) and isinstance(value.func, type) and not value.args:
        return {**_as_config(value.func), "init_args": {k: _as_config(v) for k, v in value.keywords.items()}}
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    return value


def _constructor_arguments(cls: type) -> set[str]:
    """The named arguments ``cls(...)`` accepts: its ``__init__``'s, and while that passes ``**kwargs`` on, its
    base classes' (a subclass that only changes some defaults declares just those)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        parameters = inspect.signature(klass.__init__).parameters.values()
        names |= {p.name for p in parameters if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name != "self"}
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            return names
    return names


BYTES_PER_INPUT_VALUE = 64 * 4 * 3
"""A lower bound on what each latent or pixel value costs a model: every net maps its input through at least 64 units
(weights or activations, float32), and training keeps Adam's two moments beside the weights."""


def _check_sizes(image_shape: tuple, latent_dim: int) -> None:
    """Refuse an image shape that is not three positive sizes, and sizes whose nets could not fit in memory."""
    if len(image_shape) != 3 or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in image_shape):
        raise InvalidArgument(f"image_shape must be three positive integers (C, H, W), got {image_shape!r}")
    check_memory(f"latent_dim={latent_dim}", float(latent_dim) * BYTES_PER_INPUT_VALUE,
                 "use a latent code of tens to a few hundred dimensions")
    check_memory(f"image_shape={image_shape}", float(math.prod(image_shape)) * BYTES_PER_INPUT_VALUE,
                 "use --data.init_args.image_size of at most a few hundred px")


def to_unit_range(images: Tensor) -> Tensor:
    """Images in [-1, 1] (a model's own range) as float images in [0, 1], the range zoo returns and saves."""
    return ((images.float() + 1) / 2).clamp(0, 1)


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; raised before the optimiser step, so the weights stay finite."""


class GenerativeModel(L.LightningModule):
    """Base of every zoo model: the shared update loop, sampling, and the state a checkpoint must carry.

    Subclasses implement :meth:`players`, :meth:`updates` and :meth:`generate`, and may override :meth:`prepare`,
    :meth:`evaluate`, :meth:`sample_latent` and :meth:`after_update`. Images are in [-1, 1] inside the model;
    :meth:`sample` returns them in [0, 1]. The conditioning API (``num_classes``, ``class_names``, ``conditional``,
    ``label_kind``, ``sample(labels=...)``) is described in the module docstring; here it has the unconditional
    values.

    Args:
        image_shape: (C, H, W) of the data; linked from the data module by the CLI.
        latent_dim: size of the latent code z.
    """

    num_classes: int = 0
    """The number of classes (attributes for ``label_kind`` ``"attributes"``) the model is conditioned on; 0: none."""
    class_names: tuple[str, ...] = ()
    """The classes' (or attributes') names in label order."""
    label_kind: str = "class"
    """``"class"``: labels are int64 class indices (B,); ``"attributes"``: (B, k) 0/1 multi-hot vectors."""

    def __init__(self, image_shape: tuple[int, int, int] = (1, 28, 28), latent_dim: PositiveInt = 64) -> None:
        super().__init__()
        self.automatic_optimization = False  # updates are explicit; see Update
        self.image_shape = tuple(image_shape)
        self.latent_dim = latent_dim
        self.iteration = 0  # training batches seen: the x-axis of logs and image grids
        self.train_seconds = 0.0  # wall time of training so far, over every resumed run (for model cards)
        self._train_clock: float | None = None  # perf_counter() when this run's training started
        self._rng_to_restore: dict | None = None
        self._stepping = ""  # the player whose optimiser is stepping (for the gradient-norm log)
        self._log_this_batch = True  # whether this batch's terms and gradient norms are logged
        self.latent_priors: dict = {}  # priors fitted to the codes after training (zoo fit-prior), by name
        self.save_hyperparameters()
        # Every hyper-parameter of the concrete class (and of the bases it passes them to) that declares a range,
        # before any net is built; then the sizes whose nets could not fit in memory.
        check_arguments(type(self), self.hparams)
        _check_sizes(self.image_shape, latent_dim)
        # Lightning also collects the arguments of intermediate base classes' __init__; keep only those the
        # concrete class accepts (its own, and its bases' where it passes **kwargs on, plus the CLI's private "_..."
        # keys), so zoo.load rebuilds it with its own signature.
        accepted = _constructor_arguments(type(self))
        self.remove_ignored_hparams([k for k in self.hparams if k not in accepted and not k.startswith("_")])
        for key, value in self.hparams.items():  # a model built in Python: nets given as classes become configs
            self.hparams[key] = _as_config(value)

    # --- what a model defines ----------------------------------------------------------------------------------

    def players(self) -> dict[str, tuple[nn.Module | Iterable[nn.Module | nn.Parameter], Callable | None]]:
        """``{name: (networks or parameters, optimiser factory)}``, in optimiser order."""
        raise NotImplementedError

    def updates(self) -> list[Update]:
        """The optimiser updates of one training iteration, in the order they run."""
        raise NotImplementedError

    def generate(self, z: Tensor) -> Tensor:
        """Decode latents ``(B, latent_dim)`` into images ``(B, C, H, W)`` in [-1, 1] (a conditional model's
        ``generate(z, labels)`` also takes one label per latent)."""
        raise NotImplementedError

    def default_optimizer(self, player: str, params: list[nn.Parameter]) -> torch.optim.Optimizer:
        """Optimiser used for ``player`` when its factory is None (the paper's choice)."""
        raise NotImplementedError(f"{type(self).__name__} has no default optimiser for {player!r}; set one in YAML")

    def prepare(self, real: Tensor, due: set[str], *condition: Tensor) -> dict:
        """Tensors shared by this iteration's updates (e.g. one generated batch used by both D and G);
        ``condition`` is what :meth:`batch_condition` took from the batch (nothing for an unconditional model)."""
        return {}

    def after_update(self, player: str) -> None:
        """Hook after ``player``'s optimiser step (weight clipping, EMA, control variables, ...)."""

    def evaluate(self, real: Tensor, *condition: Tensor) -> LossTerms:
        """Validation/test terms for a batch, logged under ``val/`` or ``test/`` (``condition``: as in
        :meth:`prepare`)."""
        return {}

    @property
    def conditional(self) -> bool:
        """Whether the model takes labels (``num_classes > 0``)."""
        return self.num_classes > 0

    def batch_condition(self, batch: tuple[Tensor, Tensor]) -> tuple[Tensor, ...]:
        """What the model takes from a batch besides its images, passed on as the last arguments of
        :meth:`prepare`, :meth:`evaluate` and ``reconstruct``: nothing here; a conditional model's labels
        (:class:`zoo.core.conditioning.Conditional`)."""
        return ()

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Draw ``n`` latents from the prior p(z) = N(0, I)."""
        return torch.randn(n, self.latent_dim, generator=generator).to(self.device)

    def latent_codes(self) -> LatentCodes | None:
        """The layout of interpretable codes inside this model's latent (:class:`~zoo.core.codes.LatentCodes`:
        InfoGAN's categorical and continuous codes), which ``zoo sample --mode codes`` varies one at a time and
        ``zoo evaluate --metrics code_accuracy`` matches to the data's classes; None (the default): no codes."""
        return None

    def latent_code(self, x: Tensor) -> Tensor:
        """The deterministic code (B, latent_dim) of images ``x`` (B, C, H, W) in [-1, 1] that fitted latent priors
        (:mod:`zoo.sampling.latent_priors`) are fitted to and decoded from: an encoder model's ``E(x)`` or posterior
        mean. Refused here, with the reason (:meth:`latent_code_obstacle`) and the models that have one."""
        raise latent_code_refusal(self)

    @classmethod
    def latent_code_obstacle(cls) -> str | None:
        """Why this model's images have no code to fit a latent prior to, or None where :meth:`latent_code` is
        overridden (read from the class, so the models that can are listed without building any)."""
        if any("latent_code" in vars(klass) for klass in cls.__mro__ if klass is not GenerativeModel):
            return None
        return "it has no encoder"

    def draw_latent(self, n: int, generator: torch.Generator | None = None, prior: str | None = None) -> Tensor:
        """``n`` latents from the model's own prior (``prior`` None or ``"plain"``: :meth:`sample_latent`) or from
        the fitted prior named ``prior`` (``zoo fit-prior``); an unknown or unfitted one is refused."""
        if prior is None or prior == PLAIN:
            return self.sample_latent(n, generator)
        check_prior(self, prior)
        return self.latent_priors[prior].sample(n, generator).to(self.device)

    # --- what the discriminator estimates: the only quantities DRS and DDLS use --------------------------------

    def density_samplers(self) -> tuple[str, ...]:
        """The discriminator-driven samplers this model's discriminator serves: ``"drs"`` when it overrides
        :meth:`log_density_ratio`, ``"ddls"`` when :meth:`energy` is defined. None by default: an autoencoder,
        joint or latent discriminator estimates neither."""
        return ()

    def log_density_ratio(self, x: Tensor, *condition: Tensor) -> Tensor:
        """``log p_data(x) / p_g(x)`` per image (B,) of images (B, C, H, W) in [-1, 1], as the discriminator at its
        optimum estimates it: what Discriminator Rejection Sampling (Azadi et al. 2019) accepts by. A conditional
        model's discriminator D(x, y) gives the class-conditional ``log p_data(x | y) / p_g(x | y)`` of images with
        their labels ``condition`` (one per image)."""
        raise self.sampler_refusal("drs")

    def energy(self, x: Tensor, *condition: Tensor) -> Tensor:
        """``d(x)`` per image (B,) such that ``p_t(x) ∝ p_g(x)·e^{d(x)}`` is the corrected model that
        Discriminator-Driven Latent Sampling (Che et al. 2020, eq. 5) samples. Where the discriminator estimates the
        log density ratio, ``d = log p_data/p_g`` and ``p_t = p_data`` (the default here)."""
        if "ddls" in self.density_samplers() and "drs" in self.density_samplers():
            return self.log_density_ratio(x, *condition)
        raise self.sampler_refusal("ddls")

    def sampler_obstacle(self) -> str | None:
        """Why the discriminator's estimate cannot be read image by image although :meth:`density_samplers` names
        it (e.g. its output depends on the rest of the batch), as the end of a refusal (``"but ..."``); None where
        nothing stands in the way. The samplers and :func:`~zoo.sampling.modes.applicable_modes` refuse then."""
        return None

    def proposal(self, z: Tensor, *condition: Tensor) -> Tensor:
        """``G(z)`` in [-1, 1] of the generator the discriminator was trained against: what DRS and DDLS propose
        from, since the discriminator's ratio is relative to that generator's density (:meth:`generate` here; a
        conditional model's ``G(z, y)`` for the labels ``condition``)."""
        return self.generate(z, *condition)

    def sampler_refusal(self, sampler: str) -> SamplerNotApplicable:
        """The error raised when ``sampler`` (``drs``/``ddls``) is not in :meth:`density_samplers` or a
        :meth:`sampler_obstacle` stands in the way: it names the model, the reason and the sampling modes that do
        apply (override to say why, as f-GAN does per divergence)."""
        return refusal(self, sampler, self.sampler_obstacle())

    def require_sampler(self, sampler: str) -> None:
        """Raise :meth:`sampler_refusal` unless ``sampler`` can read this model's discriminator image by image."""
        if sampler not in self.density_samplers() or self.sampler_obstacle() is not None:
            raise self.sampler_refusal(sampler)

    def training_only_nets(self) -> tuple[str, ...]:
        """The attributes of the nets that only the training losses call: neither sampling, encoding, the metrics
        nor :meth:`density_samplers` use them (e.g. a joint or latent discriminator). A published checkpoint leaves
        them out to stay small (:mod:`zoo.core.omitted`). None by default."""
        return ()

    # --- the shared loop ---------------------------------------------------------------------------------------

    def optimizer_steps(self, iterations: int) -> int:
        """The optimiser steps (Lightning's ``global_step``) taken by ``iterations`` training batches; use it to
        turn a budget in batches into ``Trainer(max_steps=...)``."""
        updates = self.updates()
        return sum(u.is_due(i) for i in range(iterations) for u in updates)

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        optimizers = []
        for name, (nets, factory) in self.players().items():
            params = _parameters_of(nets)
            try:
                optimizers.append(factory(params) if factory is not None else self.default_optimizer(name, params))
            except (ValueError, TypeError) as error:  # torch.optim's own checks: "Invalid learning rate: -1.0", ...
                raise InvalidArgument(
                    f"the optimiser of {type(self).__name__}'s {name!r} networks refuses its arguments: {error}. "
                    "Fix: check that optimiser's init_args in the config (lr > 0, betas in [0, 1), eps >= 0)."
                ) from error
        return optimizers

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        real = batch[0]
        optimizers = dict(zip(self.players(), _as_list(self.optimizers())))
        due = [u for u in self.updates() if u.is_due(self.iteration)]
        shared = self.prepare(real, {u.player for u in due}, *self.batch_condition(batch))
        self._log_this_batch = self._logger_writes_this_batch(len(due))
        for update in due:
            optimizer = optimizers[update.player]
            self.toggle_optimizer(optimizer)  # only this player's parameters get gradients
            terms = update.loss(real, shared)
            self._check_finite(terms["loss"], update.player)
            self.manual_backward(terms["loss"])
            self._stepping = update.player
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            self.untoggle_optimizer(optimizer)
            self.after_update(update.player)
            if self._log_this_batch:
                for key, value in terms.items():
                    self.log(f"train/{update.player}/{key}", value.detach().float(), prog_bar=key == "loss")
        self.iteration += 1

    def _logger_writes_this_batch(self, optimizer_steps: int = 0) -> bool:
        """Whether this batch's training terms are logged: on every ``log_every_n_steps``-th batch (the ones the
        logger writes) and on the last batch of an epoch or of the run (``optimizer_steps``: the steps this batch
        takes), whose values stay in ``trainer.callback_metrics`` for checkpoint monitors and the model artifact.

        A ``self.log`` call costs about a millisecond, as much as a small net's forward pass, and Lightning keeps only
        the values of those batches, so on the others nothing is logged (the progress bar shows the last ones).
        """
        if self._trainer is None:
            return True
        trainer = self.trainer
        if trainer._logger_connector.should_update_logs or trainer.fast_dev_run:
            return True
        last_of_epoch = trainer.fit_loop.epoch_loop.batch_progress.is_last_batch
        last_of_run = 0 <= trainer.max_steps <= trainer.global_step + optimizer_steps
        return bool(last_of_epoch or last_of_run)

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        """Log the stepping network's gradient norm (after any AMP unscaling) on the logger's steps only."""
        if self._trainer is None or not self._log_this_batch:
            return
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if grads:
            norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.float()) for g in grads]))
            self.log(f"train/{self._stepping}/grad_norm", norm)

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._log_evaluation(batch, "val")

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._log_evaluation(batch, "test")

    def forward(self, z: Tensor, *condition: Tensor) -> Tensor:
        """``G(z)``: latents (B, latent_dim) (and a conditional model's labels) to images (B, C, H, W) in [-1, 1]."""
        return self.generate(z, *condition)

    def predict_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        """``zoo predict``: one sample in [0, 1] per image of the batch (reconstructions for encoder models; a
        conditional model's for the batch's labels)."""
        real, condition = batch[0], self.batch_condition(batch)
        if hasattr(self, "reconstruct"):
            return ((self.reconstruct(real, *condition).float() + 1) / 2).clamp(0, 1)
        return self.sample(real.shape[0], labels=condition[0] if condition else None)

    def _log_evaluation(self, batch: tuple[Tensor, Tensor], split: str) -> None:
        real = batch[0]
        # Evaluation must not move the global RNG: a run that validates and one that does not stay identical.
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            terms = self.evaluate(real, *self.batch_condition(batch))
        for key, value in terms.items():
            self.log(f"{split}/{key}", value.float(), batch_size=real.shape[0], sync_dist=True)

    def _check_finite(self, loss: Tensor, player: str) -> None:
        if not torch.isfinite(loss):
            raise NonFiniteLossError(
                f"{type(self).__name__}: the {player!r} loss is {loss.item()} at iteration {self.iteration}. "
                "The optimiser step was skipped and saved checkpoints are intact. Usual fixes: lower the learning "
                "rate, use bf16-mixed instead of 16-mixed precision, or resume from the last checkpoint with a "
                "different seed."
            )

    # --- sampling ----------------------------------------------------------------------------------------------

    @torch.no_grad()
    def sample(self, n: int, z: Tensor | None = None, seed: int | None = None, labels=None,
               prior: str | None = None) -> Tensor:
        """Draw ``n`` images ``(n, C, H, W)`` in [0, 1] (in eval mode; ``seed`` makes the draw reproducible).

        Args:
            n: how many images (ignored when ``z`` is given).
            z: latents (n, latent_dim) to decode instead of drawing them.
            seed: seed of the latents (and of the labels a conditional model draws).
            labels: a conditional model's labels: class indices or names, or attributes (see the module docstring
                and :func:`zoo.sampling.labels.resolve_labels`); None draws them. Refused for an unconditional
                model.
            prior: where the latents come from: None or ``"plain"`` the model's own prior, or the name of a prior
                fitted to its codes (``"gmm"``, ``"two-stage"``; :mod:`zoo.sampling.latent_priors`).
        """
        check_prior(self, prior)
        if z is not None and prior not in (None, PLAIN):
            raise InvalidArgument(f"sample(z=..., prior={prior!r}): the latents z are given, so no prior is drawn "
                                  "from. Fix: give z or prior, not both.")
        if z is None:
            check_value("n", n, int, AT_LEAST_1)
            check_memory(f"sample(n={n})", 8.0 * n * (math.prod(self.image_shape) + self.latent_dim),
                         "draw fewer images at once (in batches)")
        if seed is not None:
            check_value("seed", seed, int, SEED)
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        z = self.draw_latent(n, generator, prior) if z is None else z.to(self.device)
        labels = resolve_labels(self, labels, len(z), generator)  # None for an unconditional model
        condition = () if labels is None else (labels,)
        was_training = self.training
        self.eval()
        try:
            images = self.generate(z, *condition)
        finally:
            self.train(was_training)
        return to_unit_range(images)

    ROUNDING_PROBE = "samples"
    """What :meth:`rounding_probe` returns, as a release's card names it."""

    def rounding_probe(self, n: int, seed: int) -> Tensor:
        """Values in [0, 1] that weights rounded for storage (``zoo publish --weights-dtype float16``) must reproduce
        within a small tolerance: ``n`` samples at ``seed``, for a model whose samples move continuously with its
        weights. A model that draws discrete values from probabilities it computes probes those instead."""
        return self.sample(n, seed=seed)

    # --- checkpoint state --------------------------------------------------------------------------------------

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["zoo"] = {
            "class_path": _class_path(self),
            "iteration": self.iteration,
            "train_seconds": self.train_seconds + self._seconds_this_run(),
            "rng": capture_rng_state(),
        }
        if self._trainer is not None and self.trainer.world_size > 1:
            # Every rank draws its own noise: keep each rank's generators so that a resumed DDP run continues
            # exactly (all ranks take part in a save, only rank 0 writes the file).
            states = [None] * self.trainer.world_size
            torch.distributed.all_gather_object(states, checkpoint["zoo"]["rng"])
            checkpoint["zoo"]["rng_per_rank"] = states
        datamodule = getattr(self._trainer, "datamodule", None) if self._trainer is not None else None
        if datamodule is not None:  # so evaluation can rebuild the data the model was trained on
            checkpoint["zoo"]["datamodule_class_path"] = _class_path(datamodule)
        if self.latent_priors:  # kept as loaded: a resumed run carries them on unchanged
            checkpoint["zoo"]["latent_priors"] = priors_to_checkpoint(self.latent_priors)

    def setup(self, stage: str) -> None:
        """Fit the trainer to a model of several players, whoever built it (the CLI or Python code):

        - DDP: each update trains one player while the others sit idle, so DistributedDataParallel must allow
          parameters without gradients (``find_unused_parameters``), whichever way DDP was chosen (``devices: 4`` with
          the default strategy, ``ddp``, ``ddp_spawn``, several nodes).
        - Checkpoints are written atomically beside their target (:class:`~zoo.core.checkpoint_io.AtomicCheckpointIO`)
          unless another checkpoint IO was chosen.
        """
        from lightning.pytorch.plugins.io import TorchCheckpointIO
        from lightning.pytorch.strategies import DDPStrategy

        from zoo.core.checkpoint_io import AtomicCheckpointIO

        strategy = self.trainer.strategy
        if isinstance(strategy, DDPStrategy):
            strategy._ddp_kwargs.setdefault("find_unused_parameters", True)
        if type(strategy.checkpoint_io) is TorchCheckpointIO:
            strategy.checkpoint_io = AtomicCheckpointIO()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        check_resumable(self, checkpoint)
        state = checkpoint.get("zoo", {})
        self.iteration = state.get("iteration", 0)
        self.train_seconds = state.get("train_seconds", 0.0)
        self._rng_to_restore = state.get("rng")
        self.latent_priors = priors_from_checkpoint(state)
        if self.latent_priors and self._trainer is not None:
            rank_zero_warn(f"the checkpoint holds latent priors fitted to its codes ({', '.join(self.latent_priors)}); "
                           "they are carried into this run's checkpoints unchanged, but this run moves the codes they "
                           "were fitted to. Fix: fit them again afterwards (zoo fit-prior --ckpt NEW_CKPT ...).")
        per_rank = state.get("rng_per_rank")
        trainer = self._trainer
        if per_rank and trainer is not None and len(per_rank) == trainer.world_size:
            self._rng_to_restore = {**per_rank[trainer.global_rank], "per_rank": True}

    def _seconds_this_run(self) -> float:
        return time.perf_counter() - self._train_clock if self._train_clock is not None else 0.0

    def on_train_start(self) -> None:
        self._train_clock = time.perf_counter()
        own_stream = False
        if self._rng_to_restore is not None:  # resuming: continue the random streams where the checkpoint left them
            own_stream = self._rng_to_restore.get("per_rank", False)
            restore_rng_state(self._rng_to_restore)
            self._rng_to_restore = None
        if self.trainer.world_size > 1 and not own_stream:  # seed_everything gives every rank one seed: decorrelate
            seed = int(torch.randint(2**62, ())) + self.trainer.global_rank
            torch.manual_seed(seed)


RESUME_DATA_SETTINGS = ("batch_size", "image_size", "train_subset", "val_size", "seed", "attributes")
"""Data settings whose change on resume makes the run draw other batches than the original: warned about."""


class IncompatibleCheckpointError(ValueError):
    """A checkpoint given to resume from belongs to another model class, or to nets of other shapes."""


def check_resumable(model: "GenerativeModel", checkpoint: dict, source: str | None = None) -> None:
    """Refuse to resume ``model`` from a checkpoint of another class or other net shapes (before any weight is
    loaded), and warn when the checkpoint was trained on other data or another batch size."""
    trainer = model._trainer
    source = source or getattr(trainer, "ckpt_path", None) or "the checkpoint"
    saved_class = checkpoint.get("zoo", {}).get("class_path") or checkpoint.get("hyper_parameters", {}).get("_class_path")
    if saved_class and saved_class != _class_path(model):
        raise IncompatibleCheckpointError(
            f"{source} holds a {saved_class}, but this run builds a {_class_path(model)}. Fix: resume with the config "
            f"it was trained with (its config.yaml beside the logs, or `zoo fit --config CONFIG --ckpt_path "
            f"{source}` with that model), or start a new run without --ckpt_path."
        )
    own = model.state_dict()
    saved = checkpoint.get("state_dict", {})
    differ = [f"{k}: {tuple(saved[k].shape)} in the checkpoint, {tuple(own[k].shape)} here"
              for k in own.keys() & saved.keys() if tuple(saved[k].shape) != tuple(own[k].shape)]
    missing = sorted(own.keys() - saved.keys())
    extra = sorted(saved.keys() - own.keys())  # e.g. an EMA copy of G that this run's config switches off
    omitted = checkpoint.get("zoo", {}).get(OMITTED_KEY)
    if omitted and trainer is not None:  # zoo.load puts stand-ins in their place; a trainer cannot
        raise IncompatibleCheckpointError(cannot_train_from(source, omitted))
    if differ or missing or extra:
        details = "; ".join(differ[:3] + [f"{k}: not in the checkpoint" for k in missing[:3]]
                            + [f"{k}: in the checkpoint, not in this run" for k in extra[:3]])
        raise IncompatibleCheckpointError(
            f"{source} holds a {saved_class or 'model'} whose nets differ from this run's {_class_path(model)} "
            f"({len(differ) + len(missing) + len(extra)} tensors, e.g. {details}). Fix: resume with the net settings "
            "it was trained with (its config.yaml beside the logs), or start a new run without --ckpt_path."
        )
    saved_names = checkpoint.get("hyper_parameters", {}).get("class_names")
    if model.conditional and saved_names is not None and tuple(saved_names) != tuple(model.class_names):
        rank_zero_warn(f"{source} was trained for the classes {', '.join(map(str, saved_names))}, but this run's are "
                       f"{', '.join(model.class_names)}: label i now means this run's i-th class.")
    datamodule = getattr(trainer, "datamodule", None) if trainer is not None else None
    if datamodule is None:
        return
    saved_data = checkpoint.get("datamodule_hyper_parameters") or {}
    changes = [f"{key} {saved_data[key]} -> {datamodule.hparams[key]}" for key in RESUME_DATA_SETTINGS
               if key in saved_data and key in datamodule.hparams and saved_data[key] != datamodule.hparams[key]]
    saved_data_class = saved_data.get("_class_path") or checkpoint.get("zoo", {}).get("datamodule_class_path")
    if saved_data_class and saved_data_class.rpartition(".")[2] != type(datamodule).__name__:
        changes.insert(0, f"data {saved_data_class} -> {_class_path(datamodule)}")
    if changes:
        rank_zero_warn(f"resuming {source} with other data than it was trained with ({', '.join(changes)}): the run "
                       "goes on, but it no longer continues the original run exactly.")


def _class_path(obj: object) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def _as_list(optimizers) -> list:
    return optimizers if isinstance(optimizers, list) else [optimizers]


def _parameters_of(nets: nn.Module | Iterable[nn.Module | nn.Parameter]) -> list[nn.Parameter]:
    if isinstance(nets, nn.Module):
        return list(nets.parameters())
    params: list[nn.Parameter] = []
    for net in nets:
        params.extend([net] if isinstance(net, nn.Parameter) else net.parameters())
    return params
