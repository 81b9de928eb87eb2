"""β-TCVAE (Chen et al. 2018): the VAE with its KL split into mutual information, total correlation and
dimension-wise KL, the total correlation weighted by β."""

from lightning.pytorch.cli import OptimizerCallable
from lightning.pytorch.utilities import rank_zero_warn

from zoo.arguments import InvalidArgument, NonNegativeFloat, PositiveFloat, PositiveInt
from zoo.core.base import LossTerms, Update
from zoo.core.variational import VariationalModel
from zoo.losses.disentangling import minibatch_weighted_sampling
from zoo.nets import ConvDecoder, ConvEncoder, EncoderFactory, GeneratorFactory
from zoo.registry import register


@register(family="vae", name="betatc_vae",
          paper="Chen et al. 2018, Isolating Sources of Disentanglement in Variational Autoencoders, NeurIPS 2018, "
          "arXiv:1802.04942")
class BetaTCVAE(VariationalModel):
    """Minimises ``recon + α · MI + β · TC + γ · DWKL`` (Chen et al. 2018, eq. 4): the ELBO's KL, averaged over
    the data, split into the index-code mutual information I_q(z; n), the total correlation KL(q(z) || Π_j q(z_j)) and
    the dimension-wise KL Σ_j KL(q(z_j) || p(z_j)), each estimated on the minibatch by minibatch-weighted sampling
    (:func:`zoo.losses.disentangling.minibatch_weighted_sampling`, which needs the training set's size N). β > 1
    penalises only the dependence between code dimensions, not the information the code carries; α = β = γ = 1 is
    the VAE's objective (in expectation). Logged per image: ``mi``, ``tc``, ``dwkl`` (MWS estimates, whose constants
    depend on N and the batch size), ``recon``, ``kl`` (analytic) and the true ``nelbo = recon + kl``.

    Args:
        image_shape: (C, H, W) of the data (linked from the data module).
        latent_dim: size of z (10 in Chen et al.'s dSprites runs).
        dataset_size: N, the images of the training split (linked from the data module: ``dataset_size``); None
            takes it from the data module at ``fit``.
        encoder: factory ``(image_shape, 2 * latent_dim) -> net``.
        decoder: factory ``(latent_dim, image_shape) -> net``.
        likelihood: ``bernoulli`` or ``gaussian`` decoder.
        alpha: weight of the index-code mutual information (1 in the paper).
        beta: weight of the total correlation (6 in the paper's dSprites figures).
        gamma: weight of the dimension-wise KL (1 in the paper).
        decoder_std: fixed Gaussian pixel std, or None to learn it.
        optimizer: optimiser factory (None: Adam, lr 1e-3).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        latent_dim: PositiveInt = 10,
        dataset_size: PositiveInt | None = None,
        encoder: EncoderFactory = ConvEncoder,
        decoder: GeneratorFactory = ConvDecoder,
        likelihood: str = "bernoulli",
        alpha: NonNegativeFloat = 1.0,
        beta: NonNegativeFloat = 6.0,
        gamma: NonNegativeFloat = 1.0,
        decoder_std: PositiveFloat | None = None,
        optimizer: OptimizerCallable | None = None,
    ) -> None:
        super().__init__(image_shape, latent_dim, encoder, decoder, likelihood, beta, decoder_std, optimizer)
        self.dataset_size = dataset_size
        self.alpha = alpha
        self.gamma = gamma

    def setup(self, stage: str) -> None:
        """Take N from the data module when none was given; warn when the given one is not its training split's."""
        super().setup(stage)
        datamodule = getattr(self.trainer, "datamodule", None)
        train_set = getattr(datamodule, "train_set", None)
        data_size = len(train_set) if train_set is not None else getattr(datamodule, "dataset_size", None)
        if data_size is None:
            if self.dataset_size is None and stage == "fit":
                raise InvalidArgument("BetaTCVAE needs dataset_size, the number of training images (N of "
                                      "minibatch-weighted sampling). Fix: train with a zoo data module (it is linked "
                                      "from it), or pass dataset_size=len(training set).")
            return
        if self.dataset_size is None:
            self.dataset_size = self.hparams["dataset_size"] = int(data_size)
        elif self.dataset_size != data_size:
            rank_zero_warn(f"BetaTCVAE was built for dataset_size={self.dataset_size} training images, but the data "
                           f"module's training split holds {data_size}: the logged mi, tc and dwkl are shifted by "
                           "constants (the gradients are not). Fix: leave dataset_size out of the config; the CLI "
                           "links it from the data.")

    def updates(self) -> list[Update]:
        return [Update("vae", lambda real, shared: self.decomposed_terms(real))]

    def decomposed_terms(self, x) -> LossTerms:
        """``recon``, the analytic ``kl``, ``nelbo``, the MWS estimates ``mi``, ``tc``, ``dwkl`` and
        ``loss = recon + α · mi + β · tc + γ · dwkl`` (nats per image, averaged over the batch)."""
        params = self.encode(x)
        mu, logvar = params[0].float(), params[1].float()
        z = self.posterior_sample(params)
        recon = self.reconstruction_nll(self.decode(z), (x.float() + 1) / 2).mean()
        kl = self.kl_divergence(params).mean()
        mi, tc, dwkl = (term.mean() for term in minibatch_weighted_sampling(z, mu, logvar, self.dataset_size))
        loss = recon + self.alpha * mi + self.beta * tc + self.gamma * dwkl
        return {"loss": loss, "recon": recon, "kl": kl, "nelbo": recon + kl, "mi": mi, "tc": tc, "dwkl": dwkl}
