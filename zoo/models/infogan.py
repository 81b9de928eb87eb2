"""InfoGAN (Chen et al. 2016): a GAN whose latent holds codes that a head Q, sharing D's trunk, must read back."""

import torch
from lightning.pytorch.cli import OptimizerCallable
from torch import Tensor

from zoo.arguments import InvalidArgument, NonNegativeFloat, NonNegativeInt, PositiveInt, check_arguments
from zoo.core.adversarial import AdversarialModel, AdversarialTechniques
from zoo.core.base import LossTerms
from zoo.core.codes import LatentCodes
from zoo.losses.gan import (
    discriminator_accuracy,
    gan_discriminator_loss,
    gan_generator_loss,
    logistic_log_density_ratio,
)
from zoo.losses.info import categorical_code_nll, gaussian_code_nll, mutual_information_bound
from zoo.nets import DCGANDiscriminator, DCGANGenerator, EncoderFactory, GeneratorFactory
from zoo.registry import register
from zoo.sampling.modes import SamplerNotApplicable, refusal

DDLS_REASON = (
    "but InfoGAN's latent is not the N(0, I) that DDLS's energy ||z||²/2 - d(G(z)) assumes: Langevin steps would "
    "leave the categorical codes' one-hot values and the continuous codes' [-1, 1], and moving only the noise with "
    "the codes held fixed samples p(c)·p_t(z | c), not p_t(z, c) (each code's weight ∫ N(z) e^d(G(z, c)) dz is lost)"
)


@register(family="gan", paper="Chen et al. 2016, InfoGAN: Interpretable Representation Learning by Information "
          "Maximizing Generative Adversarial Nets, arXiv:1606.03657")
class InfoGAN(AdversarialModel):
    """``min_{G, Q} max_D V(D, G) - λ L_I(G, Q)`` (§5, eq. 6), trained without labels: G(z, c) takes noise z and
    codes c (:mod:`zoo.core.codes`: ``m`` K-way categorical codes, ``k`` continuous codes ~ U(-1, 1)), and
    ``L_I = E[log Q(c | G(z, c))] + H(c)`` bounds ``I(c; G(z, c))`` from below (:mod:`zoo.losses.info`).

    D: the logistic loss on its first output plus ``λ_cat CE + λ_cont NLL`` of Q on the detached fakes (Q trains with
    D's trunk and D's optimiser); G: the non-saturating loss plus the same terms through D (the GAN's Algorithm 1
    with the information term added to both players' losses, as in the authors' implementation).

    **Q shares D's every layer but the last.** D is built with ``1 + |Q|`` outputs: the first is D's logit, the
    rest are Q's parameters (the categorical codes' logits, the continuous codes' means and, with
    ``learn_continuous_std``, log standard deviations). That is the paper's design (§6: Q and D share all
    convolutional layers, and one last fully connected layer gives Q(c | x)'s parameters): the rows of one linear
    head are the same as two linear heads on the same features, and it works with every
    discriminator net and wrapper of the family (``features``/``head`` nets, minibatch discrimination) with no new
    net and one optimiser. A separate head after ``features()`` would need every net's feature size and would skip
    a wrapper's own forward. One caveat: spectral normalisation (``techniques.spectral_norm``) divides the whole
    last layer, D's row and Q's rows, by one largest singular value.

    **DRS applies, DDLS is refused.** D's first output is trained by the logistic loss on data against
    ``p_g(x) = ∫ p(z) p(c) δ(x - G(z, c))``, the generator's marginal, and the Q terms read only the other outputs
    (the trunk serves both; with enough capacity both optima are reached together, as tests/test_infogan.py checks
    with a table discriminator), so at D's optimum the logit is ``log p_data/p_g`` (:meth:`log_density_ratio`) and
    DRS proposes from that marginal.
    DDLS is refused (:data:`DDLS_REASON`): its Langevin chain moves the whole latent under an N(0, I) prior, which
    a one-hot code and a uniform code are not.

    Feature matching is refused: it replaces G's whole loss, and with it the information term.

    Args:
        image_shape: (C, H, W) of the data (linked from the data module).
        noise_dim: size of the incompressible noise z ~ N(0, I) (62 for MNIST in the paper).
        categorical_dim: K, the values of each categorical code (10 for the ten-class datasets; 0: none).
        categorical_codes: m, the number of K-way categorical codes (1 for MNIST, 10 for CelebA in the paper).
        continuous_codes: k, the number of continuous codes c' ~ U(-1, 1) (2 for MNIST).
        learn_continuous_std: Q outputs a log standard deviation per continuous code (the factored Gaussian of
            §6); False fixes σ = 1 (as the authors' code does by default).
        lambda_categorical: λ of the categorical codes' term (1 in the paper).
        lambda_continuous: λ of the continuous codes' term (the paper takes it smaller than the categorical one,
            so that a term with a differential entropy stays on the GAN loss's scale, without giving one value).
        generator: factory ``(latent_dim, image_shape) -> net`` (tanh is applied), latent_dim = noise + codes.
        discriminator: factory ``(image_shape, 1 + |Q|) -> net`` whose first output is D's logit.
        n_critic: discriminator steps per generator step.
        g_optimizer: optimiser factory for G (None: Adam, lr 1e-3, betas (0.5, 0.999), the paper's).
        d_optimizer: optimiser factory for D and Q (None: Adam, lr 2e-4, betas (0.5, 0.999)).
        techniques: Salimans et al. stabilisers and generator EMA (None: all off; feature matching refused).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        noise_dim: PositiveInt = 62,
        categorical_dim: NonNegativeInt = 10,
        categorical_codes: PositiveInt = 1,
        continuous_codes: NonNegativeInt = 2,
        learn_continuous_std: bool = False,
        lambda_categorical: NonNegativeFloat = 1.0,
        lambda_continuous: NonNegativeFloat = 0.1,
        generator: GeneratorFactory = DCGANGenerator,
        discriminator: EncoderFactory = DCGANDiscriminator,
        n_critic: PositiveInt = 1,
        g_optimizer: OptimizerCallable | None = None,
        d_optimizer: OptimizerCallable | None = None,
        techniques: AdversarialTechniques | None = None,
    ) -> None:
        sizes = dict(noise_dim=noise_dim, categorical_dim=categorical_dim, categorical_codes=categorical_codes,
                     continuous_codes=continuous_codes)
        check_arguments(type(self), sizes)  # before the latent's width is computed from them
        if categorical_dim == 1:
            raise InvalidArgument("categorical_dim must be 0 (no categorical code) or >= 2, got 1 (a 1-way code is a "
                                  "constant and carries no information)")
        codes = LatentCodes(**sizes)
        if codes.categorical == 0 and continuous_codes == 0:
            raise InvalidArgument("InfoGAN needs a code: categorical_dim and continuous_codes are both 0 (that is the "
                                  "plain GAN: use gan or dcgan)")
        q_width = codes.categorical * categorical_dim + continuous_codes * (2 if learn_continuous_std else 1)
        super().__init__(image_shape, codes.width, generator, discriminator, n_critic, g_optimizer, d_optimizer,
                         techniques, discriminator_out_features=1 + q_width)
        if self.techniques.feature_matching:
            raise InvalidArgument("InfoGAN does not take feature_matching: it replaces G's whole loss, and with it the "
                                  "mutual-information term that gives the codes their meaning")
        self.codes = codes
        self.learn_continuous_std = learn_continuous_std
        self.lambda_categorical = lambda_categorical
        self.lambda_continuous = lambda_continuous

    def default_optimizer(self, player, params):
        return torch.optim.Adam(params, lr=2e-4 if player == "d" else 1e-3, betas=(0.5, 0.999))

    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` latents ``[z | one-hot codes | continuous codes]`` (n, latent_dim) from the prior."""
        return self.codes.sample(n, generator).to(self.device)

    def latent_codes(self) -> LatentCodes:
        return self.codes

    # --- D and Q: one net, one pass ----------------------------------------------------------------------------

    def heads(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor | None]:
        """D's logit (B, 1) and Q's parameters from one pass of the shared net: categorical logits (B, m, K),
        continuous means (B, k) and log standard deviations (B, k) (None when σ = 1)."""
        codes = self.codes
        out = self.discriminator(x)
        k = codes.continuous_codes
        logit, categorical, mean, log_std = out.split(
            [1, codes.categorical * codes.categorical_dim, k, k if self.learn_continuous_std else 0], dim=1)
        categorical = categorical.reshape(len(x), codes.categorical, codes.categorical_dim)
        return logit, categorical, mean, log_std if self.learn_continuous_std else None

    def information_terms(self, q: tuple[Tensor, Tensor, Tensor | None], z: Tensor) -> tuple[Tensor, LossTerms]:
        """``λ_cat E[-log Q(c | x)] + λ_cont E[-log Q(c' | x)]`` for Q's parameters ``q`` on images made from latents
        ``z``, and the logged terms: each negative log-likelihood (nats per image) and the categorical bound
        ``mi_bound = H(c) - CE``, which rises towards ``m log K`` as the codes become recoverable."""
        categorical_logits, mean, log_std = q
        _, categorical, continuous = self.codes.split(z)
        loss, terms = z.new_zeros((), dtype=torch.float32), {}
        if self.codes.categorical:
            nll = categorical_code_nll(categorical_logits, categorical)
            terms.update(info_categorical=nll,
                         mi_bound=mutual_information_bound(nll.detach(), self.codes.categorical_entropy))
            loss = loss + self.lambda_categorical * nll
        if self.codes.continuous_codes:
            nll = gaussian_code_nll(mean, continuous, log_std)
            terms["info_continuous"] = nll
            loss = loss + self.lambda_continuous * nll
        return loss, terms

    # --- the game ----------------------------------------------------------------------------------------------

    def discriminator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        real_logit = self.heads(real)[0]
        fake_logit, *q = self.heads(shared["fake"].detach())
        information, terms = self.information_terms(q, shared["z"])
        adversarial = gan_discriminator_loss(real_logit, fake_logit)
        return {
            "loss": adversarial + information,
            "adversarial": adversarial,
            **terms,
            "accuracy": discriminator_accuracy(real_logit, fake_logit),
            "real_prob": torch.sigmoid(real_logit).mean(),
            "fake_prob": torch.sigmoid(fake_logit).mean(),
        }

    def generator_loss(self, real: Tensor, shared: dict) -> LossTerms:
        fake_logit, *q = self.heads(shared["fake"])
        information, terms = self.information_terms(q, shared["z"])
        adversarial = gan_generator_loss(fake_logit, "non_saturating")
        return {"loss": adversarial + information, "adversarial": adversarial, **terms}

    def evaluate(self, real: Tensor) -> LossTerms:
        z = self.sample_latent(real.shape[0])
        real_logit = self.heads(real)[0]
        fake_logit, *q = self.heads(self.generate(z))
        _, terms = self.information_terms(q, z)
        return {
            "d/accuracy": discriminator_accuracy(real_logit, fake_logit),
            "d/loss": gan_discriminator_loss(real_logit, fake_logit),
            **{f"q/{key}": value for key, value in terms.items()},
        }

    # --- what D estimates --------------------------------------------------------------------------------------

    def density_samplers(self) -> tuple[str, ...]:
        return ("drs",)

    def log_density_ratio(self, x: Tensor) -> Tensor:
        """``log p_data/p_g``: D's first output, the logit of a logistic discriminator at its optimum."""
        return logistic_log_density_ratio(self.heads(x)[0])

    def sampler_refusal(self, sampler: str) -> SamplerNotApplicable:
        if sampler == "ddls" and self.sampler_obstacle() is None:
            return refusal(self, sampler, DDLS_REASON)
        return super().sampler_refusal(sampler)
