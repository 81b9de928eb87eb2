"""LSGAN (Mao et al. 2017): the GAN game with least-squares losses in the paper's a-b-c coding."""

from zoo.arguments import InvalidArgument
from zoo.models.gan import GAN
from zoo.nets import DCGANDiscriminator, DCGANGenerator, EncoderFactory, GeneratorFactory
from zoo.registry import register


@register(family="gan", paper="Mao et al. 2017, Least Squares Generative Adversarial Networks, arXiv:1611.04076")
class LSGAN(GAN):
    """``min_D ½E[(D(x) - b)²] + ½E[(D(G(z)) - a)²]``, ``min_G ½E[(D(G(z)) - c)²]`` (Mao et al. eq. 2) on D's raw
    output, with (a, b, c) = ``least_squares_coding``: the paper's 0-1 coding (0, 1, 1) by default, or (-1, 1, 0),
    under which the game minimises a Pearson χ² divergence (§3.2); DCGAN nets and Adam(2e-4, beta1 = 0.5).

    DRS and DDLS read ``log p_data/p_g = log (D - a)/(b - D)`` from D's optimum ``(b p_data + a p_g)/(p_data +
    p_g)``; scores outside (a, b) have no ratio and are rejected or never entered, with a count.

    Args:
        generator: factory ``(latent_dim, image_shape) -> net`` (tanh is applied to its output).
        discriminator: factory ``(image_shape, 1) -> net`` giving one score per image.
        loss: ``least_squares``, the only loss of this model (the argument is :class:`GAN`'s; for another loss use
            ``gan``, ``dcgan`` or ``sngan``).
        **kwargs: every other argument of :class:`GAN`, ``least_squares_coding`` among them.
    """

    def __init__(
        self,
        generator: GeneratorFactory = DCGANGenerator,
        discriminator: EncoderFactory = DCGANDiscriminator,
        loss: str = "least_squares",
        **kwargs,
    ) -> None:
        if loss != "least_squares":
            raise InvalidArgument(f"loss: LSGAN is the least-squares game, got {loss!r}; for the logistic or hinge "
                                  "loss use gan, dcgan or sngan, whose loss argument takes them")
        super().__init__(generator=generator, discriminator=discriminator, loss=loss, **kwargs)
