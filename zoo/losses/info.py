"""InfoGAN's mutual-information term (Chen et al. 2016, arXiv:1606.03657, §5, eqs. 4-6).

The game adds ``-λ I(c; G(z, c))`` to the GAN value. The mutual information needs the intractable posterior
P(c | x); an auxiliary distribution Q(c | x) gives the variational lower bound (Lemma 5.1)

    I(c; G(z, c)) >= L_I(G, Q) = E_{c ~ P(c), x ~ G(z, c)}[log Q(c | x)] + H(c),

tight when Q equals the true posterior, and the game becomes ``min_{G, Q} max_D V(D, G) - λ L_I(G, Q)``. As H(c)
is a constant of the prior, minimising the negative log-likelihood ``E[-log Q(c | G(z, c))]`` over G and Q is the
same as maximising L_I; the functions here return that negative log-likelihood, summed over the codes and
averaged over the batch (nats per image), and :func:`mutual_information_bound` turns it back into L_I.

Q is a categorical distribution (softmax logits) for each categorical code and a factored Gaussian for the
continuous codes, with unit variance or a learned log standard deviation (the paper's §6 parametrisation).
Everything is computed in float32, so it is exact under bf16 autocast too.
"""

import math

import torch.nn.functional as F
from torch import Tensor


def categorical_code_nll(logits: Tensor, codes: Tensor) -> Tensor:
    """``E[-Σ_i log Q(c_i | x)]``: the cross-entropy of Q's logits (B, m, K) for ``m`` K-way codes at the codes'
    values (B, m), summed over the codes and averaged over the batch. 0 when Q is certain and right; ``m log K``
    when Q is uniform."""
    batch, codes_per_image, values = logits.shape
    nll = F.cross_entropy(logits.float().reshape(-1, values), codes.reshape(-1).long(), reduction="none")
    return nll.view(batch, codes_per_image).sum(1).mean()


def gaussian_code_nll(mean: Tensor, codes: Tensor, log_std: Tensor | None = None) -> Tensor:
    """``E[-Σ_j log N(c'_j; μ_j(x), σ_j(x)²)]`` for continuous codes (B, k), with Q's means (B, k) and log standard
    deviations (B, k) (None: σ = 1, the fixed-variance form), summed over the codes and averaged over the batch:
    ``(c' - μ)² / 2σ² + log σ + log(2π)/2`` per code."""
    mean, codes = mean.float(), codes.float()
    log_std = mean.new_zeros(()) if log_std is None else log_std.float()
    nll = 0.5 * ((codes - mean) * (-log_std).exp()).pow(2) + log_std + 0.5 * math.log(2 * math.pi)
    return nll.sum(1).mean()


def mutual_information_bound(nll: Tensor, entropy: float) -> Tensor:
    """``L_I = H(c) - E[-log Q(c | x)]``, the lower bound on ``I(c; G(z, c))`` (eq. 4) from the codes' entropy H(c)
    (``m log K`` for m uniform K-way codes) and the negative log-likelihood above: it rises towards H(c) as G makes
    the codes recoverable and Q learns to read them."""
    return entropy - nll
