"""ACGAN (Odena et al. 2017): a conditional GAN whose discriminator also classifies, the class log-likelihood a term of
both players' losses."""

from zoo.arguments import NonNegativeFloat
from zoo.models.cgan import CGAN
from zoo.registry import register


@register(family="gan", paper="Odena et al. 2017, Conditional Image Synthesis with Auxiliary Classifier GANs, "
          "arXiv:1610.09585")
class ACGAN(CGAN):
    """``G(z, y)`` with the label concatenated to z, and a discriminator with a source output P(S | X) and an
    auxiliary class head P(C | X) sharing every layer but the last (D's linear head has 1 + K outputs; the label is
    not fed to D). With ``L_S = E[log P(S = real | X_real)] + E[log P(S = fake | X_fake)]`` and
    ``L_C = E[log P(C = c | X_real)] + E[log P(C = c | X_fake)]`` (§3), D maximises ``L_S + λ L_C`` and G maximises
    ``λ L_C - L_S``, its ``-L_S`` in the non-saturating form (``-E[log D(G(z, c))]``); λ = ``class_weight`` (1 in
    the paper). The class terms are in :mod:`zoo.losses.conditional`; for CelebA's attributes the class head gives
    one Bernoulli logit per attribute.

    DRS and DDLS are refused (see :class:`~zoo.models.cgan.CGAN`).

    Args:
        discriminator_conditioning: ``classifier`` (the paper's); see CGAN.
        class_weight: λ, the weight of the class terms.
        **kwargs: every other argument of :class:`~zoo.models.cgan.CGAN`.
    """

    def __init__(self, discriminator_conditioning: str = "classifier", class_weight: NonNegativeFloat = 1.0,
                 **kwargs) -> None:
        super().__init__(discriminator_conditioning=discriminator_conditioning, class_weight=class_weight, **kwargs)
