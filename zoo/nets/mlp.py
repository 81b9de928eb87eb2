"""Fully connected nets: the generator and discriminator of Goodfellow et al. (2014) and a generic MLP."""

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from zoo.arguments import InvalidArgument


def _activation(name: str) -> nn.Module:
    activations = {"relu": nn.ReLU(), "leaky_relu": nn.LeakyReLU(0.2), "elu": nn.ELU(), "tanh": nn.Tanh()}
    if name not in activations:
        raise InvalidArgument(f"unknown activation {name!r}; choose one of {sorted(activations)}")
    return activations[name]


class MLP(nn.Module):
    """``in_features -> hidden... -> out_features`` with an activation (and optional dropout) between layers.

    Args:
        in_features: input width.
        out_features: output width (no activation on the output).
        hidden: widths of the hidden layers.
        activation: ``relu``, ``leaky_relu``, ``elu`` or ``tanh``.
        dropout: dropout probability after each hidden activation.
        batchnorm: batch normalisation before each hidden activation.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        hidden: Sequence[int] = (512, 512),
        activation: str = "relu",
        dropout: float = 0.0,
        batchnorm: bool = False,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for size in hidden:
            layers.append(nn.Linear(width, size))
            if batchnorm:
                layers.append(nn.BatchNorm1d(size))
            layers.append(_activation(activation))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, out_features)
        self.out_features = out_features

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


class MLPGenerator(nn.Module):
    """``z -> x``: an MLP whose output is reshaped to an image (raw values; the model applies tanh/sigmoid).

    Args:
        latent_dim: size of z.
        image_shape: (C, H, W) of the output.
        hidden: hidden widths.
        activation: hidden activation.
        batchnorm: batch normalisation in hidden layers.
    """

    def __init__(
        self,
        latent_dim: int,
        image_shape: tuple[int, int, int],
        hidden: Sequence[int] = (256, 512, 1024),
        activation: str = "relu",
        batchnorm: bool = False,
    ) -> None:
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.mlp = MLP(latent_dim, math.prod(self.image_shape), hidden, activation, batchnorm=batchnorm)

    def forward(self, z: Tensor) -> Tensor:
        return self.mlp(z).view(z.shape[0], *self.image_shape)  # (B, C, H, W)


class MLPDiscriminator(nn.Module):
    """``x -> (B, out_features)``: flattens the image into an MLP (LeakyReLU + dropout, as in Goodfellow et al.).

    Args:
        image_shape: (C, H, W) of the input.
        out_features: output width (1 for a discriminator, 2·latent for a Gaussian encoder).
        hidden: hidden widths.
        activation: hidden activation.
        dropout: dropout probability in hidden layers.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        out_features: int = 1,
        hidden: Sequence[int] = (512, 256),
        activation: str = "leaky_relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.mlp = MLP(math.prod(image_shape), out_features, hidden, activation, dropout)
        self.head = self.mlp.head

    def features(self, x: Tensor) -> Tensor:
        return self.mlp.features(torch.flatten(x, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))
