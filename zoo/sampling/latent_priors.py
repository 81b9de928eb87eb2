"""Latent priors fitted after training to a model's codes of the training images: ex-post density estimation.

An autoencoder's codes do not fill its prior: the aggregate posterior q(z) = E_x[q(z|x)] leaves holes and mass where
p(z) has none, so decoding draws of p(z) gives worse images than the codes of real ones would. Fitting a density
to the codes and sampling that instead repairs much of it, with the model's weights untouched:

* ``gmm`` (Ghosh et al. 2020, "From Variational to Deterministic Autoencoders", ICLR, Sec. 4 "ex-post density
  estimation"): a Gaussian mixture with full covariances, ``q(z) = Σ_k π_k N(z; μ_k, Σ_k)``, fitted by EM
  (scikit-learn's ``GaussianMixture``), sampled and scored with ``torch.distributions.MixtureSameFamily``.
* ``two-stage`` (Dai & Wipf 2019, "Diagnosing and Enhancing VAE Models", ICLR, Sec. 4): a second, small VAE on the
  codes, ``u ~ N(0, I) -> z ~ N(dec(u), γ² I)`` with a learned scale γ, trained on the ELBO
  ``-E_q[log N(z; dec(u), γ² I)] + KL(q(u|z) || N(0, I))``; sampling decodes u ~ N(0, I) to its mean dec(u).

A model keeps its fitted priors in ``model.latent_priors`` (name -> prior) and a checkpoint under
``checkpoint["zoo"]["latent_priors"]`` (name -> :meth:`state`, plain tensors and numbers), not in the state_dict,
so resuming and loading an ordinary checkpoint are unchanged. ``zoo fit-prior`` fits them
(:mod:`zoo.commands.fit_prior`), ``model.sample(n, prior="gmm")`` and ``zoo sample --prior gmm`` use them.

Every prior draws on the CPU (a seeded ``torch.Generator`` makes a draw reproducible) and the model moves the draw
to its device, as :mod:`zoo.core.priors` does.
"""

import contextlib
import math
import warnings

import torch
from torch import Tensor, nn

from zoo.arguments import InvalidArgument
from zoo.sampling.modes import SamplerNotApplicable

PLAIN = "plain"
"""The model's own prior (``sample_latent``): what ``sample`` draws from when no fitted prior is named."""
KINDS = ("gmm", "two-stage")
"""The kinds of prior ``zoo fit-prior --kind`` fits."""
GMM_COMPONENTS = 10
"""Ghosh et al. 2020 fit 10 components (Sec. 4)."""
TWO_STAGE = dict(hidden=256, depth=3, epochs=20, lr=1e-3, batch_size=128)
"""The second stage's defaults: the paper's shape (three hidden ReLU layers, the input concatenated to the last one,
a learned γ) but narrower and shorter than its code's (1024 units, Adam at lr 1e-4 for hundreds of epochs on a
GPU), so that a fit over 60 000 codes takes minutes on a CPU; ``--hidden``, ``--epochs``, ``--lr`` go back."""


class LatentCodeUnavailable(SamplerNotApplicable):
    """A fitted prior was asked of a model with no deterministic continuous code of an image."""


class PriorNotFitted(InvalidArgument):
    """A prior that is unknown, or that this checkpoint has not been fitted with, was asked for."""


def models_with_latent_code() -> list[str]:
    """The registered models whose images have a code to fit a prior to (their class has no
    ``latent_code_obstacle``)."""
    from zoo.registry import list_models

    return [e.name for e in list_models() if e.cls.latent_code_obstacle() is None]


def latent_code_refusal(model_or_class) -> LatentCodeUnavailable:
    """The one error for a fitted prior on a model without a code to fit it to: the reason and the models that can."""
    cls = model_or_class if isinstance(model_or_class, type) else type(model_or_class)
    return LatentCodeUnavailable(
        f"fitted latent priors do not apply to {cls.__name__}: {cls.latent_code_obstacle()}. They are fitted to "
        f"the deterministic codes of training images; models that have them: {', '.join(models_with_latent_code())}. "
        "Fix: give a checkpoint of one of those models, or sample this one with its own prior (--prior plain)."
    )


def check_prior(model, prior: str | None) -> None:
    """Refuse, before any work, a prior that is neither ``plain`` (or None) nor one fitted into ``model``."""
    if prior is None or prior == PLAIN:
        return
    fitted = getattr(model, "latent_priors", {})
    if prior in fitted:
        return
    if type(model).latent_code_obstacle() is not None:
        raise latent_code_refusal(model)
    known = f"{PLAIN} (the model's own prior)" + "".join(f", {name}" for name in sorted(fitted))
    what = "not a kind of prior" if prior not in KINDS else "not fitted into this checkpoint"
    kind = prior if prior in KINDS else "gmm"
    raise PriorNotFitted(
        f"prior {prior!r} is {what}; {type(model).__name__} here can sample from: {known}. Fix: choose one of those, "
        f"or fit one: zoo fit-prior --ckpt CKPT --kind {kind} --out NEW.ckpt, then sample NEW.ckpt with --prior {kind} "
        f"(kinds: {', '.join(KINDS)})."
    )


# --- the Gaussian mixture (Ghosh et al. 2020) ---------------------------------------------------------------------


class GaussianMixturePrior:
    """``q(z) = Σ_k π_k N(z; μ_k, Σ_k)`` with full covariances, held as float64 tensors.

    Args:
        weights: π (K,), summing to 1.
        means: μ (K, D).
        covariances: Σ (K, D, D), symmetric positive definite.
        fitted: how it was fitted (codes, seed, iteration of the model, ...), kept with it.
    """

    kind = "gmm"

    def __init__(self, weights: Tensor, means: Tensor, covariances: Tensor, fitted: dict | None = None) -> None:
        self.weights, self.means, self.covariances = weights, means, covariances
        self.fitted = dict(fitted or {})

    @property
    def latent_dim(self) -> int:
        return self.means.shape[1]

    def distribution(self) -> torch.distributions.MixtureSameFamily:
        """The mixture as a torch distribution (float64)."""
        components = torch.distributions.MultivariateNormal(self.means.double(),
                                                            covariance_matrix=self.covariances.double())
        return torch.distributions.MixtureSameFamily(torch.distributions.Categorical(probs=self.weights.double()),
                                                     components)

    def log_prob(self, z: Tensor) -> Tensor:
        """``log q(z)`` per code (B,) of codes (B, D), in float64."""
        return self.distribution().log_prob(z.double().cpu())

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` codes (n, D) in float32 on the CPU; the same ``generator`` state gives the same codes."""
        with _seeded_by(generator):
            return self.distribution().sample((n,)).float()

    def state(self) -> dict:
        """What a checkpoint keeps: plain tensors and numbers (loadable with ``weights_only``)."""
        return {"kind": self.kind, "weights": self.weights, "means": self.means, "covariances": self.covariances,
                "fitted": self.fitted}

    @classmethod
    def from_state(cls, state: dict) -> "GaussianMixturePrior":
        return cls(state["weights"], state["means"], state["covariances"], state.get("fitted"))

    def describe(self) -> str:
        return f"a mixture of {len(self.weights)} full-covariance Gaussians"

    @classmethod
    def fit(cls, codes: Tensor, components: int = GMM_COMPONENTS, seed: int = 0, max_iter: int = 200,
            reg_covar: float = 1e-6) -> "GaussianMixturePrior":
        """EM on ``codes`` (N, D) (scikit-learn's ``GaussianMixture``, k-means initialisation, ``random_state=seed``:
        the same codes and seed give the same mixture)."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.mixture import GaussianMixture

        if components > len(codes):
            raise InvalidArgument(f"--components {components} is more than the {len(codes)} codes to fit. Fix: give "
                                  f"--components {len(codes)} or fewer, or encode more images (--images).")
        mixture = GaussianMixture(components, covariance_type="full", random_state=seed, max_iter=max_iter,
                                  reg_covar=reg_covar)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            mixture.fit(codes.double().cpu().numpy())
        return cls(torch.from_numpy(mixture.weights_).double(), torch.from_numpy(mixture.means_).double(),
                   torch.from_numpy(mixture.covariances_).double(),
                   {"components": components, "em_iterations": int(mixture.n_iter_),
                    "converged": bool(mixture.converged_) and not caught})


# --- the second-stage VAE (Dai & Wipf 2019) -----------------------------------------------------------------------


class _SkipMLP(nn.Module):
    """``depth`` ReLU layers of ``hidden`` units, then a linear head on [input, features] (Dai & Wipf's second stage
    concatenates its input to the last hidden layer)."""

    def __init__(self, in_features: int, out_features: int, hidden: int, depth: int) -> None:
        super().__init__()
        layers, width = [], in_features
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(in_features + width, out_features)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(torch.cat([x, self.body(x)], dim=1))


class TwoStageVAE(nn.Module):
    """The second stage of Dai & Wipf (2019): a VAE over codes z (D) with latents u of the same size.

    ``q(u|z) = N(μ(z), diag σ(z)²)``, ``p(u) = N(0, I)``, ``p(z|u) = N(dec(u), γ² I)`` with ``log γ`` learned
    (their Sec. 4: a learned γ lets the decoder's variance fall to what the codes need). Loss per code, in nats:
    ``||z - dec(u)||² / 2γ² + D log γ + (D/2) log 2π + KL(q(u|z) || N(0, I))``.

    Args:
        latent_dim: D, the size of the first model's codes (and of u).
        hidden: width of the hidden layers.
        depth: hidden layers of the encoder and of the decoder.
    """

    kind = "two-stage"

    def __init__(self, latent_dim: int, hidden: int = TWO_STAGE["hidden"], depth: int = TWO_STAGE["depth"]) -> None:
        super().__init__()
        self.arguments = {"latent_dim": latent_dim, "hidden": hidden, "depth": depth}
        self.latent_dim = latent_dim
        self.encoder = _SkipMLP(latent_dim, 2 * latent_dim, hidden, depth)  # -> (μ, log σ)
        self.decoder = _SkipMLP(latent_dim, latent_dim, hidden, depth)  # -> dec(u)
        self.log_gamma = nn.Parameter(torch.zeros(()))
        self.fitted: dict = {}

    def loss(self, z: Tensor) -> dict[str, Tensor]:
        """The negative ELBO of codes ``z`` (B, D), averaged over the batch, and its terms."""
        mu, log_sd = self.encoder(z).chunk(2, dim=1)
        u = mu + log_sd.exp() * torch.randn_like(mu)
        z_hat = self.decoder(u)
        gamma = self.log_gamma.exp()
        recon = (0.5 * ((z - z_hat) / gamma).pow(2).sum(1) + self.latent_dim * self.log_gamma
                 + 0.5 * self.latent_dim * math.log(2 * math.pi))
        kl = 0.5 * (mu.pow(2) + (2 * log_sd).exp() - 2 * log_sd - 1).sum(1)
        return {"loss": (recon + kl).mean(), "recon": recon.mean(), "kl": kl.mean(), "gamma": gamma.detach()}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` codes (n, D) on the CPU: ``dec(u)`` for u ~ N(0, I), the decoder's mean as in the paper."""
        u = torch.randn(n, self.latent_dim, generator=generator)
        was_training = self.training
        self.eval()
        try:
            return self.decoder(u).float()
        finally:
            self.train(was_training)

    def state(self) -> dict:
        """What a checkpoint keeps: the architecture's arguments, the weights, how it was fitted."""
        return {"kind": self.kind, "arguments": dict(self.arguments), "state_dict": self.state_dict(),
                "fitted": self.fitted}

    @classmethod
    def from_state(cls, state: dict) -> "TwoStageVAE":
        prior = cls(**state["arguments"])
        prior.load_state_dict(state["state_dict"])
        prior.fitted = dict(state.get("fitted") or {})
        return prior.eval()

    def describe(self) -> str:
        a = self.arguments
        return f"a second-stage VAE ({a['depth']}x{a['hidden']} MLPs, γ = {self.log_gamma.exp().item():.3g})"

    @classmethod
    def fit(cls, codes: Tensor, seed: int = 0, epochs: int = TWO_STAGE["epochs"], lr: float = TWO_STAGE["lr"],
            batch_size: int = TWO_STAGE["batch_size"], hidden: int = TWO_STAGE["hidden"],
            depth: int = TWO_STAGE["depth"], progress=None) -> "TwoStageVAE":
        """Train on ``codes`` (N, D) with Adam for ``epochs`` passes in shuffled minibatches, everything drawn from
        ``seed`` (the global RNG is left as it was). ``fitted["losses"]`` holds the mean loss of every epoch."""
        codes = codes.float().cpu()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            prior = cls(codes.shape[1], hidden, depth)
            optimizer = torch.optim.Adam(prior.parameters(), lr=lr)
            losses = []
            epochs_run = range(epochs) if progress is None else progress(range(epochs), "two-stage VAE", epochs)
            for _ in epochs_run:
                total = 0.0
                for batch in codes[torch.randperm(len(codes))].split(batch_size):
                    terms = prior.loss(batch)
                    if not torch.isfinite(terms["loss"]):
                        raise InvalidArgument(f"the two-stage VAE's loss became {terms['loss'].item()} after "
                                              f"{len(losses)} epochs. Fix: lower --lr (now {lr:g}).")
                    optimizer.zero_grad(set_to_none=True)
                    terms["loss"].backward()
                    optimizer.step()
                    total += terms["loss"].item() * len(batch)
                losses.append(total / len(codes))
        prior.fitted = {"epochs": epochs, "lr": lr, "batch_size": batch_size, "losses": losses,
                        "gamma": prior.log_gamma.exp().item()}
        return prior.eval()


# --- reading and writing ------------------------------------------------------------------------------------------

PRIOR_CLASSES = {GaussianMixturePrior.kind: GaussianMixturePrior, TwoStageVAE.kind: TwoStageVAE}


def fit_prior(kind: str, codes: Tensor, seed: int = 0, **options):
    """Fit a prior of ``kind`` (:data:`KINDS`) to ``codes`` (N, D); ``options`` go to its ``fit``."""
    if kind not in PRIOR_CLASSES:
        raise PriorNotFitted(f"unknown kind of prior {kind!r}. Fix: choose one of {', '.join(KINDS)}.")
    if len(codes) < 2 or not torch.isfinite(codes).all():
        problem = " with NaN or infinite values" if len(codes) >= 2 else ""
        raise InvalidArgument(f"cannot fit a prior to {len(codes)} codes{problem}. Fix: encode more images "
                              "(--images), or check the checkpoint's reconstructions (zoo sample --mode reconstruct).")
    return PRIOR_CLASSES[kind].fit(codes, seed=seed, **options)


def priors_from_checkpoint(zoo_state: dict) -> dict:
    """``{name: prior}`` from a checkpoint's ``checkpoint["zoo"]`` (empty when none were fitted)."""
    return {name: PRIOR_CLASSES[state["kind"]].from_state(state)
            for name, state in (zoo_state.get("latent_priors") or {}).items()}


def priors_to_checkpoint(priors: dict) -> dict:
    """``{name: state}`` for ``checkpoint["zoo"]["latent_priors"]``."""
    return {name: prior.state() for name, prior in priors.items()}


@contextlib.contextmanager
def _seeded_by(generator: torch.Generator | None):
    """Let a torch distribution (which draws from the global RNG) draw from ``generator`` instead: the global RNG
    is seeded from it inside a fork, and left as it was."""
    if generator is None:
        yield
        return
    seed = int(torch.randint(2**62, (), generator=generator))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
