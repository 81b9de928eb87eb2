"""DCGAN-style convolutional nets (Radford et al. 2015, arXiv:1511.06434) for 28, 32, 64 (and larger) pixel images.

The spatial size is built from a seed of ``s0 ∈ {4, 7}`` pixels doubled ``k`` times (28 = 7·2², 32 = 4·2³, 64 = 4·2⁴),
with the channel count halving at each doubling: ``base_channels · 2^(k-1) -> ... -> base_channels -> C``.
"""

import torch
from torch import Tensor, nn

from zoo.arguments import InvalidArgument


def spatial_plan(image_shape: tuple[int, int, int], net: str) -> tuple[int, int]:
    """Return ``(s0, k)`` with ``H = W = s0 · 2^k``, or raise a ValueError that says how to fix the size."""
    _, height, width = image_shape
    for seed in (4, 7):
        size, doublings = height, 0
        while size > seed and size % 2 == 0:
            size, doublings = size // 2, doublings + 1
        if size == seed and doublings >= 1 and height == width:
            return seed, doublings
    raise InvalidArgument(
        f"{net} cannot handle {height}×{width} images: it needs square images of side 4·2^k or 7·2^k "
        "(e.g. 28, 32, 56, 64, 128). Set the data module's image_size to such a size, or use an MLP net."
    )


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":  # normalises over (C, H, W) per sample: safe with gradient penalties (Gulrajani et al.)
        return nn.GroupNorm(1, channels)
    if kind == "instance":
        return nn.GroupNorm(channels, channels)
    if kind == "none":
        return nn.Identity()
    raise InvalidArgument(f"unknown norm {kind!r}; choose batch, layer, instance or none")


def dcgan_init_(module: nn.Module) -> None:
    """Initialise conv weights from N(0, 0.02) and norm scales from N(1, 0.02), as in the DCGAN paper."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class DCGANGenerator(nn.Module):
    """``z -> x``: a transposed-conv stack, norm + ReLU between layers; raw output (the model applies tanh/sigmoid).

    Args:
        latent_dim: size of z.
        image_shape: (C, H, W) of the output; H = W = 4·2^k or 7·2^k.
        base_channels: channels of the last hidden layer (doubled towards the input).
        norm: ``batch`` (DCGAN), ``layer``, ``instance`` or ``none``.
        dcgan_init: initialise weights from N(0, 0.02).
    """

    def __init__(
        self,
        latent_dim: int,
        image_shape: tuple[int, int, int],
        base_channels: int = 64,
        norm: str = "batch",
        dcgan_init: bool = True,
    ) -> None:
        super().__init__()
        seed, doublings = spatial_plan(image_shape, type(self).__name__)
        width = base_channels * 2 ** (doublings - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, width, seed, 1, 0, bias=norm == "none"),  # (B, width, s0, s0)
            _norm(norm, width),
            nn.ReLU(inplace=True),
        ]
        for _ in range(doublings - 1):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=norm == "none"), _norm(norm, width // 2)]
            layers.append(nn.ReLU(inplace=True))
            width //= 2
        layers.append(nn.ConvTranspose2d(width, image_shape[0], 4, 2, 1))  # (B, C, H, W)
        self.net = nn.Sequential(*layers)
        if dcgan_init:
            dcgan_init_(self)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """``x -> (B, out_features)``: strided convs with LeakyReLU(0.2), then a linear head on the flattened features.

    Args:
        image_shape: (C, H, W) of the input; H = W = 4·2^k or 7·2^k.
        out_features: output width (1 for a discriminator or critic, 2·latent for a Gaussian encoder).
        base_channels: channels of the first conv (doubled at each halving).
        norm: ``batch`` (DCGAN), ``layer`` (for gradient penalties), ``instance`` or ``none``; never on the first conv.
        dcgan_init: initialise weights from N(0, 0.02).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        out_features: int = 1,
        base_channels: int = 64,
        norm: str = "batch",
        dcgan_init: bool = True,
    ) -> None:
        super().__init__()
        seed, doublings = spatial_plan(image_shape, type(self).__name__)
        width = base_channels
        layers: list[nn.Module] = [nn.Conv2d(image_shape[0], width, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
        for _ in range(doublings - 1):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=norm == "none"), _norm(norm, width * 2)]
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            width *= 2
        self.body = nn.Sequential(*layers)  # (B, width, s0, s0)
        self.head = nn.Linear(width * seed * seed, out_features)
        self.feature_size = width * seed * seed
        if dcgan_init:
            dcgan_init_(self)

    def features(self, x: Tensor) -> Tensor:
        return torch.flatten(self.body(x), 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


class ConvEncoder(DCGANDiscriminator):
    """Image -> vector conv stack (the DCGAN discriminator body), used as a VAE/AE encoder.

    Args:
        image_shape: (C, H, W) of the input; H = W = 4·2^k or 7·2^k.
        out_features: output width (2·latent_dim for a Gaussian encoder).
        base_channels: channels of the first conv.
        norm: ``batch``, ``layer``, ``instance`` or ``none``.
    """

    def __init__(
        self, image_shape: tuple[int, int, int], out_features: int, base_channels: int = 32, norm: str = "batch"
    ) -> None:
        super().__init__(image_shape, out_features, base_channels, norm, dcgan_init=False)


class ConvDecoder(DCGANGenerator):
    """Vector -> image transposed-conv stack (the DCGAN generator), used as a VAE/AE decoder.

    Args:
        latent_dim: size of z.
        image_shape: (C, H, W) of the output.
        base_channels: channels of the last hidden layer.
        norm: ``batch``, ``layer``, ``instance`` or ``none``.
    """

    def __init__(
        self, latent_dim: int, image_shape: tuple[int, int, int], base_channels: int = 32, norm: str = "batch"
    ) -> None:
        super().__init__(latent_dim, image_shape, base_channels, norm, dcgan_init=False)
