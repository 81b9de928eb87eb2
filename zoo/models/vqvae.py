"""VQ-VAE (van den Oord, Vinyals & Kavukcuoglu 2017, "Neural Discrete Representation Learning", arXiv:1711.00937)
with the gated PixelCNN prior it samples from, both trained in one run.

Stage 1 trains encoder, codebook and decoder on eq. 3: ``log p(x|z_q(x)) + ||sg[z_e(x)] - e||² + β||z_e(x) - sg[e]||²``
(the codebook term replaced by exponential moving averages with ``codebook: ema``). Stage 2, from iteration
``prior_start`` on, trains only the prior: a gated PixelCNN fitted by maximum likelihood to the frozen encoder's code
grids (Sec. 3.2: "we train an autoregressive distribution over z ... so that we can generate x via ancestral
sampling"). Both players' optimisers and the prior's weights are in the one checkpoint, so a run resumes in either
stage.

The latent. ``z`` is (B, h·w) uniform noise in [0, 1]: the PixelCNN draws the code grid in raster order by inverting
each conditional CDF at ``z_i``, and the decoder maps the codes to an image. So ``sample(z=...)`` is a deterministic
function of z as for every zoo model, and fixed-noise grids follow the prior as it trains. ``encode(x)`` gives the code
indices (B, h, w) instead, and :meth:`VQVAE.decode_codes` decodes such a grid. Neither space has a meaningful path or
mean between two points, so ``zoo sample`` refuses interpolation and latent arithmetic for this model.
"""

import math
from collections.abc import Callable
from typing import Annotated

import torch
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor, nn

from zoo.arguments import InvalidArgument, NonNegativeFloat, NonNegativeInt, PositiveInt, Range
from zoo.core.base import GenerativeModel, LossTerms, Update
from zoo.losses.reconstruction import RECONSTRUCTION_COSTS, pixel_mse, reconstruction_cost
from zoo.losses.vector_quantization import codebook_loss, commitment_loss, perplexity, straight_through
from zoo.metrics.likelihood import NoLikelihood
from zoo.nets import EncoderFactory, GeneratorFactory
from zoo.nets.pixelcnn import GatedPixelCNN
from zoo.nets.quantizer import CODEBOOK_UPDATES, VectorQuantizer
from zoo.nets.vqvae import VQDecoder, VQEncoder
from zoo.registry import register

PriorFactory = Callable[[int], nn.Module]
"""``(num_codes) -> net`` mapping code grids (B, h, w) to logits (B, K, h, w), with ``nll`` and ``sample``
(:class:`~zoo.nets.pixelcnn.GatedPixelCNN`)."""
PriorStart = Annotated[float, Range(low=0, low_open=True, hint="a fraction of training below 1, an iteration from 1")]
Decay = Annotated[float, Range(0, 1, high_open=True)]

INTERPOLATION_REFUSAL = (
    "its latent is the uniform noise from which the PixelCNN prior draws a grid of discrete codes, one code at a "
    "time, so a path between two latents jumps between unrelated code grids instead of moving between images")
ARITHMETIC_REFUSAL = (
    "its codes are indices into a codebook (a grid of categories), whose class means and differences name no code")


@register(family="vae", paper="van den Oord, Vinyals & Kavukcuoglu 2017, Neural Discrete Representation Learning, "
          "arXiv:1711.00937; prior: van den Oord et al. 2016, Conditional Image Generation with PixelCNN Decoders",
          name="vqvae")
class VQVAE(GenerativeModel):
    """Encoder -> nearest of K codes -> decoder, then a gated PixelCNN prior over the code grid.

    Args:
        image_shape: (C, H, W) of the data (linked from the data module).
        codebook_size: K, the number of codes.
        embedding_dim: D, the size of each code.
        commitment: β, the weight of the commitment term (the paper's 0.25).
        codebook: ``ema`` (exponential moving averages, Appendix A.1) or ``loss`` (the codebook term of eq. 3).
        decay: γ of the EMA codebook.
        dead_after: training iterations without an assignment after which a code is re-initialised from a random
            encoder output of the batch (0: never).
        reconstruction: the cost -log p(x|z_q): ``bernoulli`` (cross-entropy), ``squared`` or ``l1`` (pixels in [0, 1]).
        prior_start: the first iteration of stage 2 (the prior's training): below 1 a fraction of the run's training
            iterations (``trainer.estimated_stepping_batches``), from 1 an iteration count.
        encoder: factory ``(image_shape, embedding_dim) -> net`` giving a grid (B, D, h, w).
        decoder: factory ``(embedding_dim, image_shape) -> net`` from a grid (B, D, h, w) to pre-sigmoid pixels.
        prior: factory ``(codebook_size) -> net``: the PixelCNN over code grids.
        optimizer: optimiser factory of encoder, decoder (and codebook with ``codebook: loss``); None: Adam, 2e-4
            (the paper's).
        prior_optimizer: optimiser factory of the prior; None: Adam, 1e-3.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        codebook_size: PositiveInt = 512,
        embedding_dim: PositiveInt = 64,
        commitment: NonNegativeFloat = 0.25,
        codebook: str = "ema",
        decay: Decay = 0.99,
        dead_after: NonNegativeInt = 100,
        reconstruction: str = "bernoulli",
        prior_start: PriorStart = 0.5,
        encoder: EncoderFactory = VQEncoder,
        decoder: GeneratorFactory = VQDecoder,
        prior: PriorFactory = GatedPixelCNN,
        optimizer: OptimizerCallable | None = None,
        prior_optimizer: OptimizerCallable | None = None,
    ) -> None:
        super().__init__(image_shape, latent_dim=1)  # the latent's size is the code grid's, known once E is built
        if codebook not in CODEBOOK_UPDATES:
            raise InvalidArgument(f"unknown codebook update {codebook!r}; choose one of {CODEBOOK_UPDATES}")
        if reconstruction not in RECONSTRUCTION_COSTS:
            raise InvalidArgument(f"unknown reconstruction cost {reconstruction!r}; choose one of {RECONSTRUCTION_COSTS}")
        if prior_start >= 1 and not float(prior_start).is_integer():
            raise InvalidArgument(f"prior_start from 1 on counts iterations and must be a whole number, got "
                                  f"{prior_start}; give an iteration such as {int(prior_start)}, or a fraction below 1")
        self.encoder = encoder(self.image_shape, embedding_dim)
        self.decoder = decoder(embedding_dim, self.image_shape)
        self.quantizer = VectorQuantizer(codebook_size, embedding_dim, codebook, decay, dead_after=dead_after)
        self.prior = prior(codebook_size)
        with torch.no_grad():  # the grid the encoder gives for this image shape
            grid = self.encoder(torch.zeros(1, *self.image_shape)).shape
        if len(grid) != 4 or grid[1] != embedding_dim:
            raise InvalidArgument(f"the encoder must map images to a grid (B, {embedding_dim}, h, w) of "
                                  f"embedding_dim vectors, but gives {tuple(grid)}; use zoo.nets.vqvae.VQEncoder")
        self.grid_shape = tuple(grid[2:])
        self.latent_dim = math.prod(self.grid_shape)  # one uniform per code of the grid
        self.codebook_size, self.embedding_dim, self.commitment = codebook_size, embedding_dim, commitment
        self.codebook, self.reconstruction = codebook, reconstruction
        self.prior_start = prior_start
        self.optimizer, self.prior_optimizer = optimizer, prior_optimizer
        # The first iteration of stage 2 once fixed (at the start of training for a fractional prior_start); in the
        # checkpoint, so a resumed run switches where the original did.
        self.register_buffer("prior_start_iteration", torch.tensor(-1, dtype=torch.long))
        self._assigned: tuple[Tensor, Tensor] | None = None  # this step's z_e and codes, for the codebook update

    # --- the two stages ----------------------------------------------------------------------------------------

    def players(self):
        return {"vqvae": ([self.encoder, self.decoder, self.quantizer], self.optimizer),
                "prior": (self.prior, self.prior_optimizer)}

    def updates(self) -> list[Update]:
        return [Update("vqvae", self.vqvae_loss, due=self.in_first_stage),
                Update("prior", self.prior_loss, due=self.in_second_stage)]

    @property
    def stage_switch(self) -> int | None:
        """The first iteration of stage 2, or None while a fractional ``prior_start`` waits for the trainer."""
        if self.prior_start >= 1:
            return int(self.prior_start)
        return int(self.prior_start_iteration) if self.prior_start_iteration >= 0 else None

    def in_first_stage(self, iteration: int) -> bool:
        switch = self.stage_switch
        return switch is None or iteration < switch

    def in_second_stage(self, iteration: int) -> bool:
        return not self.in_first_stage(iteration)

    def on_train_start(self) -> None:
        super().on_train_start()
        if self.stage_switch is None:
            total = self.trainer.estimated_stepping_batches  # one optimiser step per iteration in either stage
            if not math.isfinite(total):
                raise InvalidArgument(
                    f"prior_start={self.prior_start} is a fraction of training, but this run sets no length (max_steps "
                    "and max_epochs are both -1); give --trainer.max_steps or --trainer.max_epochs, or an iteration "
                    "for --model.init_args.prior_start")
            self.prior_start_iteration.fill_(max(1, round(self.prior_start * total)))

    def default_optimizer(self, player: str, params: list[nn.Parameter]) -> torch.optim.Optimizer:
        return torch.optim.Adam(params, lr=2e-4 if player == "vqvae" else 1e-3)

    def prepare(self, real: Tensor, due: set[str]) -> dict:
        if "prior" not in due:
            return {}
        with torch.no_grad():  # stage 2: the frozen encoder's codes, no gradient to encoder or codebook
            return {"codes": self.encode(real)}

    def vqvae_loss(self, real: Tensor, shared: dict) -> LossTerms:
        """Eq. 3 with the straight-through gradient; the codebook terms and usage are logged beside it."""
        z_e = self.encoder(real)  # (B, D, h, w)
        z_q, codes = self.quantizer.quantize(z_e)
        decoded = self.decoder(straight_through(z_e, z_q))
        recon = reconstruction_cost(decoded, (real.float() + 1) / 2, self.reconstruction).mean()
        commit = commitment_loss(z_e, z_q)
        terms = {"recon": recon, "commitment": commit}
        loss = recon + self.commitment * commit
        if self.codebook == "loss":
            terms["codebook"] = codebook_loss(z_e, z_q)
            loss = loss + terms["codebook"]
        terms["perplexity"] = perplexity(codes, self.codebook_size)
        terms["dead_codes"] = self.quantizer.dead_codes(codes).sum().float()  # restarted after this step
        self._assigned = (z_e.detach(), codes)
        return {"loss": loss, **terms}

    def prior_loss(self, real: Tensor, shared: dict) -> LossTerms:
        """``-log p(k)`` of the codes under the PixelCNN, per code."""
        nll = self.prior.nll(shared["codes"])
        return {"loss": nll, "bits_per_code": nll.detach() / math.log(2)}

    def after_update(self, player: str) -> None:
        if player == "vqvae" and self._assigned is not None:
            self.quantizer.update(*self._assigned)  # EMA of the codes, then dead-code restarts
            self._assigned = None

    def evaluate(self, real: Tensor) -> LossTerms:
        z_e = self.encoder(real)
        z_q, codes = self.quantizer.quantize(z_e)
        decoded = self.decoder(z_q)
        return {"recon": reconstruction_cost(decoded, (real.float() + 1) / 2, self.reconstruction).mean(),
                "recon_mse": pixel_mse(torch.sigmoid(decoded.float()) * 2 - 1, real),
                "commitment": commitment_loss(z_e, z_q),
                "perplexity": perplexity(codes, self.codebook_size),
                "prior_bits_per_code": self.prior.nll(codes) / math.log(2)}

    def elbo_terms(self, x: Tensor) -> LossTerms:
        """The ELBO with the one-hot posterior q(z|x) = δ(z_q(x)) and the learned prior (van den Oord et al. 2017,
        sec. 3.2, whose uniform training prior makes the KL the constant log K): ``-ELBO = -log p(x|z_q) - log p(z_q)``
        in nats per image, the KL being ``-log p(z_q)`` since q has no entropy; the IWAE bound equals it at every K
        (all K samples are z_q). Only a Bernoulli decoder (``reconstruction: bernoulli``) is a likelihood."""
        if self.reconstruction != "bernoulli":
            raise NoLikelihood(f"{type(self).__name__} with reconstruction {self.reconstruction!r} has no -ELBO: that "
                               "cost is not a likelihood -log p(x|z). Fix: train with reconstruction: bernoulli.")
        codes = self.encode(x)
        recon = reconstruction_cost(self.decoder(self.quantizer.lookup(codes)), (x.float() + 1) / 2,
                                    self.reconstruction).mean()
        kl = self.prior.nll(codes) * math.prod(self.grid_shape)  # -log p(z_q) per image: nats per code x codes
        return {"recon": recon, "kl": kl, "nelbo": recon + kl}

    # --- encoding, decoding, sampling --------------------------------------------------------------------------

    def encode(self, x: Tensor) -> Tensor:
        """``x (B, C, H, W) in [-1, 1] -> `` the code indices (B, h, w)."""
        return self.quantizer.quantize(self.encoder(x))[1]

    def decode_codes(self, codes: Tensor) -> Tensor:
        """Code indices (B, h, w) -> images (B, C, H, W) in [-1, 1]."""
        return torch.sigmoid(self.decoder(self.quantizer.lookup(codes)).float()) * 2 - 1

    def reconstruct(self, x: Tensor) -> Tensor:
        """``decoder(z_q(x))`` in [-1, 1]."""
        return self.decode_codes(self.encode(x))

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` latents: uniform noise (n, h·w) in [0, 1), one number per code the prior draws."""
        return torch.rand(n, self.latent_dim, generator=generator).to(self.device)

    def generate(self, z: Tensor) -> Tensor:
        """Codes drawn by the PixelCNN at the uniforms ``z`` (B, h·w) (inverse CDF, raster order), decoded."""
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise InvalidArgument(f"{type(self).__name__} takes latents (n, {self.latent_dim}): one uniform in [0, 1] "
                                  f"per code of its {self.grid_shape[0]}x{self.grid_shape[1]} grid, got "
                                  f"{tuple(z.shape)}. Fix: draw them with sample_latent(n), or decode a code grid "
                                  "with decode_codes")
        return self.decode_codes(self.prior.sample(z.view(-1, *self.grid_shape)))

    ROUNDING_PROBE = "decoded images and PixelCNN probabilities of random code grids"

    @torch.no_grad()
    def rounding_probe(self, n: int, seed: int) -> Tensor:
        """Not samples: the PixelCNN draws discrete codes, so a probability moved by rounding can flip one draw and
        with it every later code of a grid. What the weights compute continuously instead: the decoder's images of
        ``n`` code grids drawn uniformly at ``seed``, and the prior's probabilities p(k | k_<i) of every code at
        every position of those grids, both in [0, 1]."""
        codes = torch.randint(self.codebook_size, (n, *self.grid_shape), generator=torch.Generator().manual_seed(seed))
        was_training = self.training
        self.eval()
        try:
            codes = codes.to(self.device)
            images = (self.decode_codes(codes) + 1) / 2
            probabilities = torch.softmax(self.prior(codes).float(), dim=1)
        finally:
            self.train(was_training)
        return torch.cat([images.flatten(1), probabilities.flatten(1)], dim=1)

    def inapplicable_modes(self) -> dict[str, str]:
        """The ``zoo sample`` modes that have no meaning for discrete codes, with the reason
        (:func:`zoo.sampling.modes.refused_modes`)."""
        return {"interpolate": INTERPOLATION_REFUSAL, "arithmetic": ARITHMETIC_REFUSAL}

    @classmethod
    def latent_code_obstacle(cls) -> str | None:
        """No Gaussian or mixture prior can be fitted in place of the PixelCNN: the codes are discrete indices."""
        return ("its codes are grids of discrete indices, modelled by its own PixelCNN prior; a continuous prior "
                "fitted to them would decode no code")
