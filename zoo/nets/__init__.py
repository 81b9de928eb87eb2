"""Plain ``nn.Module`` networks, free of any training logic.

Two calling conventions let models build any net from a YAML ``class_path``/``init_args`` block:

* image generators / decoders: ``Net(latent_dim, image_shape, **hyper)``, forward ``(B, latent_dim) -> (B, C, H, W)``;
* image encoders / discriminators: ``Net(image_shape, out_features, **hyper)``, forward ``(B, C, H, W) -> (B, out_features)``,
  plus ``features(x) -> (B, F)`` (the penultimate layer) and ``head`` (the last layer), for feature matching and
  learned-similarity losses.

Image nets return raw values (logits / pre-activations); the model decides how they map to pixels.
"""

from collections.abc import Callable

from torch import nn

from zoo.nets.dcgan import ConvDecoder, ConvEncoder, DCGANDiscriminator, DCGANGenerator
from zoo.nets.discriminators import (
    AutoencoderDiscriminator,
    DCGANCritic,
    MinibatchDiscrimination,
    UnnormalisedDCGANDiscriminator,
)
from zoo.nets.mlp import MLP, MLPDiscriminator, MLPGenerator
from zoo.nets.hybrid import JointDiscriminator, LatentDiscriminator, NoisyEncoder
from zoo.nets.resnet import ResBlock, ResNetCritic, ResNetGenerator
from zoo.nets.spectral import spectral_normalise

ImageShape = tuple[int, int, int]
GeneratorFactory = Callable[[int, ImageShape], nn.Module]
"""``(latent_dim, image_shape) -> net``: how a model builds a generator or decoder from YAML."""
EncoderFactory = Callable[[ImageShape, int], nn.Module]
"""``(image_shape, out_features) -> net``: how a model builds an encoder or discriminator from YAML."""
LatentFactory = Callable[[int, int], nn.Module]
"""``(latent_dim, out_features) -> net``: a net on codes (e.g. a latent discriminator)."""
JointFactory = Callable[[ImageShape, int, int], nn.Module]
"""``(image_shape, latent_dim, out_features) -> net`` with forward ``(x, z)``: a discriminator on (x, z) pairs."""

__all__ = [
    "JointDiscriminator",
    "JointFactory",
    "LatentDiscriminator",
    "LatentFactory",
    "NoisyEncoder",
    "MLP",
    "AutoencoderDiscriminator",
    "DCGANCritic",
    "MinibatchDiscrimination",
    "ConvDecoder",
    "ConvEncoder",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "EncoderFactory",
    "GeneratorFactory",
    "ImageShape",
    "MLPDiscriminator",
    "MLPGenerator",
    "ResBlock",
    "ResNetCritic",
    "ResNetGenerator",
    "UnnormalisedDCGANDiscriminator",
    "spectral_normalise",
]
