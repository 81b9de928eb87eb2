"""Conditional VAE (Sohn et al. 2015): the VAE with the label given to the encoder and the decoder."""

from functools import partial

from lightning.pytorch.cli import OptimizerCallable

from zoo.arguments import NonNegativeFloat, PositiveFloat, PositiveInt
from zoo.core.base import Update
from zoo.core.conditioning import Conditional, LabelSpace
from zoo.core.variational import VariationalModel
from zoo.nets import ConvDecoder, ConvEncoder, EncoderFactory, GeneratorFactory
from zoo.nets.conditional import LabelChannels, LabelConcat
from zoo.registry import register


@register(family="vae", paper="Sohn et al. 2015, Learning Structured Output Representation using Deep Conditional "
          "Generative Models, NeurIPS 2015")
class CVAE(Conditional, VariationalModel):
    """Maximises the conditional ELBO ``log p(x | y) >= E_q[log p(x | z, y)] - β · KL(q(z | x, y) || p(z))``
    (Sohn et al. 2015, eq. 4, with the prior p(z | y) = N(0, I) independent of y, as in the class-conditional
    generative model of Kingma et al. 2014 and PyTorch-VAE's CVAE): the encoder sees the image with the label as K
    constant channels, the decoder the code concatenated with the one-hot (or attribute) vector. So z holds what the
    label does not say (style), and ``sample(n, labels=...)`` draws z ~ N(0, I) and decodes it for the labels asked
    for. ``zoo evaluate --metrics nll`` bounds ``-log p(x | y)`` by importance sampling (the IWAE bound of
    :mod:`zoo.metrics.likelihood`, given the images' labels).

    Args:
        image_shape: (C, H, W) of the data (linked from the data module).
        latent_dim: size of z.
        num_classes: K, the classes or attributes (linked from the data module; None: those of ``class_names``, or
            10).
        class_names: the classes' names in label order (linked from the data module; None: their indices).
        label_kind: ``class`` or ``attributes`` (linked from the data module; None: class).
        encoder: factory ``((C + K, H, W), 2 * latent_dim) -> net`` (the image and the label channels in).
        decoder: factory ``(latent_dim + K, image_shape) -> net``.
        likelihood: ``bernoulli`` or ``gaussian`` decoder.
        beta: KL weight (1 = the ELBO).
        decoder_std: fixed Gaussian pixel std, or None to learn it.
        optimizer: optimiser factory (None: Adam, lr 1e-3).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        latent_dim: PositiveInt = 20,
        num_classes: PositiveInt | None = None,
        class_names: tuple[str, ...] | None = None,
        label_kind: str | None = None,
        encoder: EncoderFactory = ConvEncoder,
        decoder: GeneratorFactory = ConvDecoder,
        likelihood: str = "bernoulli",
        beta: NonNegativeFloat = 1.0,
        decoder_std: PositiveFloat | None = None,
        optimizer: OptimizerCallable | None = None,
    ) -> None:
        space = LabelSpace.of(num_classes, class_names, label_kind)
        super().__init__(image_shape, latent_dim, partial(LabelChannels, net=encoder, num_classes=space.num_classes),
                         partial(LabelConcat, net=decoder, num_classes=space.num_classes), likelihood, beta,
                         decoder_std, optimizer)
        self.use_labels(space)

    def updates(self) -> list[Update]:
        return [Update("vae", lambda real, shared: self.elbo_terms(real, shared["labels"]))]
