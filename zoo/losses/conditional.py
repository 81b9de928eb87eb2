"""The class terms of an auxiliary-classifier GAN (ACGAN, Odena et al. 2017, arXiv:1610.09585, §3).

ACGAN's discriminator gives a source probability P(S | X) and a class distribution P(C | X). With

    L_S = E[log P(S = real | X_real)] + E[log P(S = fake | X_fake)]
    L_C = E[log P(C = c | X_real)] + E[log P(C = c | X_fake)],

D maximises ``L_S + L_C`` and G maximises ``L_C - L_S`` (eq. 2-3); zoo plays G's ``-L_S`` in the non-saturating form
of the GAN, and minimises negative log-likelihoods: :func:`class_nll` is ``-E[log P(C = c | X)]`` of one set of
images, so D's class term is ``class_nll(real) + class_nll(fake)`` and G's is ``class_nll(fake)`` (the real images'
term does not depend on G).

For one class per image P(C | X) is a softmax over the K class logits; for CelebA's binary attributes it is a
product of independent Bernoullis, one logit per attribute, so the negative log-likelihood is the binary
cross-entropy summed over the attributes. Both are averaged over the batch (nats per image), in float32.
"""

import torch.nn.functional as F
from torch import Tensor


def class_nll(logits: Tensor, labels: Tensor) -> Tensor:
    """``-E[log P(C = c | x)]`` of class logits (B, K) at the labels: class indices (B,) (softmax cross-entropy) or
    (B, K) 0/1 attributes (binary cross-entropy summed over the attributes)."""
    logits = logits.float()
    if labels.dim() == 1:
        return F.cross_entropy(logits, labels.long())
    return F.binary_cross_entropy_with_logits(logits, labels.float(), reduction="none").sum(1).mean()


def label_accuracy(logits: Tensor, labels: Tensor) -> Tensor:
    """The fraction of images whose class the logits (B, K) get right (argmax), or of attributes (logit > 0) for
    (B, K) 0/1 attribute labels."""
    if labels.dim() == 1:
        return (logits.argmax(1) == labels).float().mean()
    return ((logits > 0) == labels.bool()).float().mean()

