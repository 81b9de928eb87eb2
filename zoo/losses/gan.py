"""The GAN game's losses, logistic (the original GAN), hinge and least squares, and what each discriminator's optimum
gives DRS and DDLS: the logistic and least-squares optima give the density ratio, the hinge optimum does not."""

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from zoo.losses.critics import wasserstein_generator_loss


# --- the original GAN (Goodfellow et al. 2014, arXiv:1406.2661) --------------------------------------------------


def gan_discriminator_loss(real_logits: Tensor, fake_logits: Tensor, real_label: float = 1.0) -> Tensor:
    """``-E[log D(x)] - E[log(1 - D(G(z)))]`` with ``D = sigmoid(logits)``.

    ``real_label < 1`` is one-sided label smoothing (Salimans et al. 2016): real targets become ``real_label``,
    fake targets stay 0.
    """
    real = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, real_label))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def gan_generator_loss(fake_logits: Tensor, kind: str = "non_saturating") -> Tensor:
    """Generator loss on ``D(G(z)) = sigmoid(logits)``.

    ``minimax``: minimise ``E[log(1 - D(G(z)))] = -E[softplus(logits)]`` (the value function of the game; its
    gradient vanishes when D rejects the samples confidently).
    ``non_saturating``: minimise ``-E[log D(G(z))] = E[softplus(-logits)]`` (same fixed point, strong early gradients).
    ``log_ratio``: minimise ``-E[log D/(1 - D)] = -E[logits]``, the negative estimated log density ratio (the sum of
    both: α-GAN's form, Rosca et al. 2017, Algorithm 1).
    """
    if kind == "non_saturating":
        return F.softplus(-fake_logits).mean()
    if kind == "minimax":
        return -F.softplus(fake_logits).mean()
    if kind == "log_ratio":
        return -fake_logits.float().mean()
    raise ValueError(f"unknown generator loss {kind!r}; choose 'non_saturating', 'minimax' or 'log_ratio'")


def discriminator_accuracy(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Fraction of real and fake samples the discriminator classifies correctly (0.5 = chance)."""
    correct = (real_logits > 0).float().sum() + (fake_logits < 0).float().sum()
    return correct / (real_logits.numel() + fake_logits.numel())


def log_or_nan(u: Tensor) -> Tensor:
    """``log u`` where ``u > 0`` and NaN elsewhere: no value where none exists, rather than a clamped one; the
    gradient stays finite everywhere, so a sampler can mask the NaNs and differentiate the rest."""
    return torch.where(u > 0, torch.log(u.clamp_min(torch.finfo(u.dtype).tiny)), torch.nan)


def logistic_log_density_ratio(logits: Tensor, real_label: float = 1.0, fake_batches: int = 1) -> Tensor:
    """``log p_data(x)/p_g(x)`` from the logits (B,) of a logistic discriminator at its optimum.

    D is trained with target ``α = real_label`` on one data batch and 0 on ``k = fake_batches`` equally weighted
    batches drawn from p_g, so ``D*(x) = α p / (p + k q)`` (Goodfellow et al. 2014, Prop. 1, for α = k = 1) and
    ``p/q = k σ / (α - σ)``, σ = sigmoid(logit): with α = 1 that is ``log p/q = logit + log k``. Under one-sided
    label smoothing (α < 1) the optimum stays below α, so where ``σ >= α`` no ratio exists and the result is NaN
    (the samplers reject those samples and count them). VAE-GAN's and α-GAN's discriminators see k = 2 model
    batches (reconstructions and samples); taking both as draws of p_g is the approximation their ratio rests on.
    """
    logits = logits.flatten().float()
    if real_label == 1.0:
        return logits + math.log(fake_batches)
    return math.log(fake_batches) + F.logsigmoid(logits) - log_or_nan(real_label - torch.sigmoid(logits))


# --- the hinge loss (Lim & Ye 2017, arXiv:1705.02894; Miyato et al. 2018, arXiv:1802.05957) -----------------------


def hinge_discriminator_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """``E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]`` on D's raw scores, in float32.

    Pointwise, ``p·relu(1 - d) + q·relu(1 + d)`` (p = p_data(x), q = p_g(x)) is smallest at ``d = 1`` where p > q and
    ``d = -1`` where p < q: the optimum ``D* = sign(p_data - p_g)`` (clipped to [-1, 1]) says on which side of
    p_g the data lies, not by how much, so no density ratio can be read from it.
    """
    return F.relu(1 - real_scores.float()).mean() + F.relu(1 + fake_scores.float()).mean()


def hinge_generator_loss(fake_scores: Tensor) -> Tensor:
    """``-E[D(G(z))]``: the generator's side of the hinge game (Miyato et al.), the Wasserstein generator's loss."""
    return wasserstein_generator_loss(fake_scores)


# --- least squares (Mao et al. 2017, Least Squares Generative Adversarial Networks, arXiv:1611.04076) -------------


def least_squares_discriminator_loss(
    real_scores: Tensor, fake_scores: Tensor, a: float = 0.0, b: float = 1.0
) -> Tensor:
    """``½E[(D(x) - b)²] + ½E[(D(G(z)) - a)²]`` on D's raw scores, in float32 (Mao et al. eq. 2): D is pulled to
    ``b`` on real images and to ``a`` on generated ones.

    Pointwise, ``p (d - b)² + q (d - a)²`` is smallest at ``D*(x) = (b p_data + a p_g) / (p_data + p_g)`` (§3.2),
    which :func:`least_squares_log_density_ratio` inverts.
    """
    return 0.5 * (real_scores.float() - b).pow(2).mean() + 0.5 * (fake_scores.float() - a).pow(2).mean()


def least_squares_generator_loss(fake_scores: Tensor, c: float = 1.0) -> Tensor:
    """``½E[(D(G(z)) - c)²]`` (Mao et al. eq. 2): G wants D to give its images the value ``c``. With ``b - c = 1``
    and ``b - a = 2`` (e.g. a = -1, b = 1, c = 0) the game minimises the Pearson χ² divergence between
    ``p_data + p_g`` and ``2 p_g`` (§3.2); ``a = 0, b = c = 1`` is the paper's other coding."""
    return 0.5 * (fake_scores.float() - c).pow(2).mean()


def least_squares_log_density_ratio(scores: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """``log p_data(x)/p_g(x)`` from the scores (B,) of a least-squares discriminator at its optimum.

    ``D* = (b p + a q)/(p + q)`` gives ``p/q = (D - a)/(b - D)``, which exists for D in (a, b) only: outside it
    the result is NaN (the samplers reject those samples and count them), as for
    :func:`logistic_log_density_ratio` under label smoothing.
    """
    scores = scores.flatten().float()
    return log_or_nan(scores - a) - log_or_nan(b - scores)
