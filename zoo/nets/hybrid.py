"""Nets of the autoencoding and hybrid family: discriminators on codes and on (x, z) pairs, and a noisy encoder.

Calling conventions, beside the image nets' (see :mod:`zoo.nets`):

* latent nets: ``Net(latent_dim, out_features, **hyper)``, forward ``(B, latent_dim) -> (B, out_features)``;
* joint nets: ``Net(image_shape, latent_dim, out_features, **hyper)``, forward ``(x (B, C, H, W), z (B, latent_dim))
  -> (B, out_features)``, plus ``features(x, z)``.
"""

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from zoo.arguments import InvalidArgument
from zoo.nets.dcgan import DCGANDiscriminator
from zoo.nets.mlp import MLP

IMAGE_NETS = ("conv", "mlp")


def image_body(
    image_shape: tuple[int, int, int], kind: str, base_channels: int, norm: str, hidden: Sequence[int]
) -> tuple[nn.Module, int]:
    """An image-to-vector feature extractor and its output width: the DCGAN discriminator's conv stack (``conv``)
    or an MLP on the flattened pixels (``mlp``, hidden widths ``hidden``)."""
    if kind == "conv":
        conv = DCGANDiscriminator(image_shape, 1, base_channels, norm)
        return nn.Sequential(conv.body, nn.Flatten()), conv.feature_size  # the conv head is dropped
    if kind == "mlp":
        mlp = MLP(math.prod(image_shape), 1, hidden, "leaky_relu")
        return nn.Sequential(nn.Flatten(), mlp.body), hidden[-1] if hidden else math.prod(image_shape)
    raise InvalidArgument(f"unknown image net {kind!r}; choose one of {IMAGE_NETS}")


class LatentDiscriminator(MLP):
    """``z -> (B, out_features)``: an MLP discriminator on codes (AAE, WAE-GAN, α-GAN's code discriminator).

    Args:
        in_features: size of z.
        out_features: output width (1 logit).
        hidden: hidden widths.
        activation: hidden activation.
        dropout: dropout probability after each hidden activation.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int = 1,
        hidden: Sequence[int] = (256, 256),
        activation: str = "leaky_relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__(in_features, out_features, hidden, activation, dropout)


class JointDiscriminator(nn.Module):
    """``D(x, z)``: image features and code features joined by an MLP (BiGAN/ALI, VEEGAN, AVB's adversary T).

    Args:
        image_shape: (C, H, W) of x.
        latent_dim: size of z.
        out_features: output width (1 logit).
        image_net: ``conv`` (DCGAN discriminator stack) or ``mlp`` for the x path.
        base_channels: channels of the first conv (``conv``).
        norm: normalisation of the conv stack (``none``, ``batch``, ``layer``, ``instance``).
        image_hidden: hidden widths of the x path (``mlp``).
        latent_hidden: hidden widths of the z path.
        hidden: hidden widths of the joint MLP.
        dropout: dropout probability in the z path and the joint MLP.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        latent_dim: int,
        out_features: int = 1,
        image_net: str = "conv",
        base_channels: int = 32,
        norm: str = "none",
        image_hidden: Sequence[int] = (512,),
        latent_hidden: Sequence[int] = (256,),
        hidden: Sequence[int] = (512,),
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        self.image_path, image_width = image_body(image_shape, image_net, base_channels, norm, image_hidden)
        self.latent_path = MLP(latent_dim, 1, latent_hidden, "leaky_relu", dropout).body
        latent_width = latent_hidden[-1] if latent_hidden else latent_dim
        self.joint = MLP(image_width + latent_width, out_features, hidden, "leaky_relu", dropout)
        self.head = self.joint.head

    def features(self, x: Tensor, z: Tensor) -> Tensor:
        return self.joint.features(torch.cat([self.image_path(x), self.latent_path(z)], dim=1))

    def forward(self, x: Tensor, z: Tensor) -> Tensor:
        return self.head(self.features(x, z))


class NoisyEncoder(nn.Module):
    """``(x, ε) -> z``: an implicit posterior q(z|x), sampled by feeding noise ε ~ N(0, I) beside the image features
    (Mescheder et al. 2017, Fig. 2b). Its density is unknown; AVB estimates log q(z|x) - log p(z) adversarially.

    Args:
        image_shape: (C, H, W) of x.
        out_features: size of z.
        noise_dim: size of ε.
        image_net: ``conv`` or ``mlp`` for the x path.
        base_channels: channels of the first conv (``conv``).
        norm: normalisation of the conv stack.
        image_hidden: hidden widths of the x path (``mlp``).
        hidden: hidden widths of the MLP on (features, ε).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        out_features: int,
        noise_dim: int = 16,
        image_net: str = "conv",
        base_channels: int = 32,
        norm: str = "batch",
        image_hidden: Sequence[int] = (512,),
        hidden: Sequence[int] = (256,),
    ) -> None:
        super().__init__()
        self.noise_dim = noise_dim
        self.image_path, width = image_body(image_shape, image_net, base_channels, norm, image_hidden)
        self.mlp = MLP(width + noise_dim, out_features, hidden, "leaky_relu")

    def forward(self, x: Tensor, noise: Tensor | None = None) -> Tensor:
        """One draw z ~ q(z|x) per image (B, out_features); pass ``noise`` (B, noise_dim) to fix ε."""
        features = self.image_path(x)
        if noise is None:
            noise = torch.randn(x.shape[0], self.noise_dim, device=features.device, dtype=features.dtype)
        return self.mlp(torch.cat([features, noise.to(features.dtype)], dim=1))
