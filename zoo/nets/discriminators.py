"""Discriminator variants of the adversarial family, built on the DCGAN blocks of :mod:`zoo.nets.dcgan`.

* :class:`DCGANCritic`: the DCGAN discriminator with per-sample (layer) normalisation, for gradient penalties.
* :class:`UnnormalisedDCGANDiscriminator`: the DCGAN discriminator with no normalisation layer, for spectral
  normalisation.
* :class:`AutoencoderDiscriminator`: a conv encoder-decoder whose reconstruction error is an energy (EBGAN, BEGAN).
* :class:`MinibatchDiscrimination`: wraps any discriminator with ``features``/``head`` and lets its head see how
  close each sample is to the rest of the batch (Salimans et al. 2016, §3.2).
"""

import torch
from torch import Tensor, nn

from zoo.arguments import InvalidArgument
from zoo.nets.dcgan import DCGANDiscriminator, DCGANGenerator


class DCGANCritic(DCGANDiscriminator):
    """The DCGAN discriminator without batch norm: a gradient penalty is per sample, and batch norm would couple the
    samples of a batch (Gulrajani et al. 2017, §4), so the default normalisation is ``layer``.

    Args:
        image_shape: (C, H, W) of the input; H = W = 4·2^k or 7·2^k.
        out_features: output width (1 for a Wasserstein critic, the code size for a Cramér critic).
        base_channels: channels of the first conv (doubled at each halving).
        norm: ``layer`` (default), ``instance`` or ``none`` (``batch`` works but breaks the penalty's assumptions).
        dcgan_init: initialise weights from N(0, 0.02).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        out_features: int = 1,
        base_channels: int = 64,
        norm: str = "layer",
        dcgan_init: bool = True,
    ) -> None:
        super().__init__(image_shape, out_features, base_channels, norm, dcgan_init)


class UnnormalisedDCGANDiscriminator(DCGANDiscriminator):
    """The DCGAN discriminator with no normalisation layer (default ``norm`` ``none``) and torch's default
    initialisation, the discriminator to spectrally normalise (Miyato et al. 2018, whose discriminators have no
    normalisation layer): spectral normalisation bounds each layer's Lipschitz constant, which a batch or layer norm
    after the layer would rescale again. The normalisation itself is the model's (``techniques.spectral_norm``), as
    for any net.

    Initialisation: the optimiser moves W, and ``W / σ(W)`` moves about ``1/σ(W)`` times as far, so small weights
    make large effective steps. DCGAN's N(0, 0.02) gives σ(W) of 0.2 on the first conv (32 channels), five times
    the step of torch's default initialisation (σ about 1.4). On Fashion-MNIST (base 32 nets, hinge loss,
    Adam(2e-4, β (0.5, 0.999))) the classes an SN-GAN covered swung between 5 and 9 over batches 300-1200 with
    DCGAN's initialisation, and stayed at 8-10 from batch 500 with torch's.

    Args:
        image_shape: (C, H, W) of the input; H = W = 4·2^k or 7·2^k.
        out_features: output width (1 for a discriminator's logit or score).
        base_channels: channels of the first conv (doubled at each halving).
        norm: ``none`` (default), ``batch``, ``layer`` or ``instance``.
        dcgan_init: initialise weights from N(0, 0.02) instead of torch's default.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        out_features: int = 1,
        base_channels: int = 64,
        norm: str = "none",
        dcgan_init: bool = False,
    ) -> None:
        super().__init__(image_shape, out_features, base_channels, norm, dcgan_init)


class AutoencoderDiscriminator(nn.Module):
    """``x -> Dec(Enc(x))``: a DCGAN conv encoder to a code of ``out_features`` values and a DCGAN transposed-conv
    decoder back to the image. The model scores an image by its reconstruction error (an energy, low on data).

    ``forward`` returns the raw reconstruction (B, C, H, W); ``encode``/``features`` return the code (B, out_features)
    and ``decode`` maps a code back to a reconstruction.

    Args:
        image_shape: (C, H, W) of the input; H = W = 4·2^k or 7·2^k.
        out_features: size of the code between encoder and decoder.
        base_channels: channels of the encoder's first conv and of the decoder's last hidden layer.
        norm: ``none`` (BEGAN), ``batch`` (EBGAN), ``layer`` or ``instance``.
        dcgan_init: initialise weights from N(0, 0.02).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        out_features: int = 64,
        base_channels: int = 32,
        norm: str = "none",
        dcgan_init: bool = True,
    ) -> None:
        super().__init__()
        self.encoder = DCGANDiscriminator(image_shape, out_features, base_channels, norm, dcgan_init)
        self.decoder = DCGANGenerator(out_features, image_shape, base_channels, norm, dcgan_init)
        self.out_features = out_features

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x)  # (B, out_features)

    def decode(self, code: Tensor) -> Tensor:
        return self.decoder(code)  # (B, C, H, W)

    def features(self, x: Tensor) -> Tensor:
        return self.encode(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))


class MinibatchDiscrimination(nn.Module):
    """Minibatch discrimination (Salimans et al. 2016, §3.2) between a discriminator's ``features`` and its ``head``.

    Features f (B, F) are projected to ``num_kernels`` rows of ``kernel_dim`` values, M (B, K, D); each sample gets
    ``o_k(x_i) = Σ_{j≠i} exp(-||M_{i,k} - M_{j,k}||₁)``, large when other samples of the batch are close to it, so
    a collapsed generator is easy to spot. The output is ``head([f, o])``, written as the base's own linear head on f
    plus a new linear map of o (the same as one linear layer on the concatenation).

    Args:
        base: a discriminator with ``features(x) -> (B, F)`` and a linear ``head`` (every zoo discriminator).
        num_kernels: K, the number of minibatch features.
        kernel_dim: D, the size of each kernel's projection.
    """

    def __init__(self, base: nn.Module, num_kernels: int = 50, kernel_dim: int = 5) -> None:
        super().__init__()
        head = getattr(base, "head", None)
        if not (isinstance(head, nn.Linear) and callable(getattr(base, "features", None))):
            raise InvalidArgument(
                f"minibatch discrimination needs a discriminator with features() and a linear head; "
                f"{type(base).__name__} has none (autoencoder discriminators score reconstructions instead)"
            )
        self.base = base
        self.num_kernels, self.kernel_dim = num_kernels, kernel_dim
        self.projection = nn.Linear(head.in_features, num_kernels * kernel_dim, bias=False)
        self.minibatch_head = nn.Linear(num_kernels, head.out_features, bias=False)
        nn.init.normal_(self.projection.weight, 0.0, 0.02)
        nn.init.zeros_(self.minibatch_head.weight)  # starts as the base discriminator
        self.head = base.head

    def features(self, x: Tensor) -> Tensor:
        return self.base.features(x)

    def minibatch_features(self, features: Tensor) -> Tensor:
        """``o(x_i)`` for each sample, (B, F) -> (B, K), in float32."""
        m = self.projection(features).float().view(features.shape[0], self.num_kernels, self.kernel_dim)
        distance = (m[:, None] - m[None, :]).abs().sum(-1)  # (B, B, K)
        return torch.exp(-distance).sum(1) - 1  # drop j = i, whose term is exp(0) = 1

    def forward(self, x: Tensor) -> Tensor:
        f = self.features(x)
        return self.head(f) + self.minibatch_head(self.minibatch_features(f).to(f.dtype))
