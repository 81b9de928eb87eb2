"""The residual generator and critic of Gulrajani et al. 2017 (Improved Training of Wasserstein GANs,
arXiv:1704.00028: §5.4 and the CIFAR-10 ResNet of its appendix), for any GAN whose discriminator maps images to
vectors (all but the autoencoder discriminators of EBGAN and BEGAN).

The CIFAR-10 nets (their ``gan_cifar_resnet.py``, 128 channels throughout):

* generator: ``z -> Linear -> (128, 4, 4) -> 3 × ResBlock(up) -> BN, ReLU, conv3×3 -> (3, 32, 32)``;
* critic: ``(3, 32, 32) -> ResBlock(down, first) -> ResBlock(down) -> 2 × ResBlock -> ReLU, global mean -> Linear``,
  with no normalisation (the gradient penalty is per sample).

Here the number of blocks follows the image size (:func:`zoo.nets.dcgan.spatial_plan`, ``H = s0 · 2^k``): the
generator upsamples ``k`` times from ``s0``, the critic downsamples ``max(k - 1, 1)`` times and adds two blocks at
that resolution, which is exactly the paper's net at 32 px. Upsampling is nearest-neighbour, downsampling a 2×2 mean
pool, both as in the reference code; weights keep PyTorch's default initialisation.
"""

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from zoo.arguments import InvalidArgument
from zoo.nets.dcgan import _norm, spatial_plan


class ResBlock(nn.Module):
    """A pre-activation residual block ``x + F(x)``, with an optional ×2 up- or downsampling (the paper's blocks).

    ``F = [norm, ReLU, (up), conv3×3, norm, ReLU, conv3×3, (mean-pool)]``; the shortcut is the identity or, when
    the size or width changes, a resampled 1×1 conv. ``first`` is the critic's first block, which sees raw pixels:
    no activation before its first conv, and its shortcut pools before the 1×1 conv.

    Args:
        in_channels: channels of x.
        out_channels: channels of the output.
        resample: ``up``, ``down`` or ``none``.
        norm: ``batch`` (the generator's), ``layer``, ``instance`` or ``none`` (the critic's).
        first: the critic's first block.
    """

    def __init__(
        self, in_channels: int, out_channels: int, resample: str = "none", norm: str = "none", first: bool = False
    ) -> None:
        super().__init__()
        if resample not in ("up", "down", "none"):
            raise ValueError(f"unknown resample {resample!r}; choose up, down or none")
        self.resample, self.first = resample, first
        self.norm1 = nn.Identity() if first else _norm(norm, in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, 1, 1)
        self.norm2 = _norm(norm, out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1)
        changes = resample != "none" or in_channels != out_channels
        self.shortcut_conv = nn.Conv2d(in_channels, out_channels, 1) if changes else None

    def shortcut(self, x: Tensor) -> Tensor:
        if self.resample == "up":
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        if self.resample == "down" and self.first:  # MeanPoolConv
            x = F.avg_pool2d(x, 2)
        if self.shortcut_conv is not None:
            x = self.shortcut_conv(x)
        if self.resample == "down" and not self.first:  # ConvMeanPool
            x = F.avg_pool2d(x, 2)
        return x

    def forward(self, x: Tensor) -> Tensor:
        h = x if self.first else F.relu(self.norm1(x))
        if self.resample == "up":
            h = F.interpolate(h, scale_factor=2, mode="nearest")  # (B, C, 2H, 2W)
        h = self.conv2(F.relu(self.norm2(self.conv1(h))))
        if self.resample == "down":
            h = F.avg_pool2d(h, 2)  # (B, C', H/2, W/2)
        return h + self.shortcut(x)


class ResNetGenerator(nn.Module):
    """``z -> x``: a linear map to a ``(channels, s0, s0)`` seed and ``k`` upsampling residual blocks (Gulrajani
    et al. 2017); raw output (the model applies tanh).

    Args:
        latent_dim: size of z (128 in the paper).
        image_shape: (C, H, W) of the output; H = W = 4·2^k or 7·2^k.
        channels: width of every block (128 in the paper).
        norm: ``batch`` (the paper's), ``layer``, ``instance`` or ``none``.
    """

    def __init__(
        self, latent_dim: int, image_shape: tuple[int, int, int], channels: int = 128, norm: str = "batch"
    ) -> None:
        super().__init__()
        self.seed, doublings = spatial_plan(image_shape, type(self).__name__)
        self.channels = channels
        self.linear = nn.Linear(latent_dim, channels * self.seed * self.seed)
        self.blocks = nn.Sequential(*(ResBlock(channels, channels, "up", norm) for _ in range(doublings)))
        self.out = nn.Sequential(_norm(norm, channels), nn.ReLU(), nn.Conv2d(channels, image_shape[0], 3, 1, 1))

    def forward(self, z: Tensor) -> Tensor:
        h = self.linear(z).view(z.shape[0], self.channels, self.seed, self.seed)  # (B, ch, s0, s0)
        return self.out(self.blocks(h))  # (B, C, H, W)


class ResNetCritic(nn.Module):
    """``x -> (B, out_features)``: downsampling residual blocks, two more at the final resolution, ReLU, a global
    mean over positions and a linear head (Gulrajani et al. 2017; no normalisation by default).

    Args:
        image_shape: (C, H, W) of the input; H = W = 4·2^k or 7·2^k.
        out_features: output width (1 for a Wasserstein critic or a GAN discriminator's logit, the code size for a
            Cramér critic).
        channels: width of every block (128 in the paper).
        norm: ``none`` (the paper's), ``layer`` or ``instance``; ``batch`` couples the samples a penalty treats
            one by one.
        pooling: ``mean`` over positions (Gulrajani et al.) or their ``sum`` (the CIFAR-10 ResNet of Miyato et al.
            2018: with spectrally normalised layers, the mean's division by the positions (64 at 32 px) would cap
            the scale of D's output, and so the hinge loss's margins, 64 times lower).
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        out_features: int = 1,
        channels: int = 128,
        norm: str = "none",
        pooling: str = "mean",
    ) -> None:
        super().__init__()
        if pooling not in ("mean", "sum"):
            raise InvalidArgument(f"unknown pooling {pooling!r}; choose mean or sum")
        self.pooling = pooling
        _, doublings = spatial_plan(image_shape, type(self).__name__)
        downs = max(doublings - 1, 1)
        blocks = [ResBlock(image_shape[0], channels, "down", norm, first=True)]
        blocks += [ResBlock(channels, channels, "down", norm) for _ in range(downs - 1)]
        blocks += [ResBlock(channels, channels, "none", norm) for _ in range(2)]
        self.body = nn.Sequential(*blocks, nn.ReLU())
        self.head = nn.Linear(channels, out_features)
        self.feature_size = channels

    def features(self, x: Tensor) -> Tensor:
        h = self.body(x)  # (B, channels, h, w)
        return h.sum(dim=(2, 3)) if self.pooling == "sum" else torch.mean(h, dim=(2, 3))  # (B, channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))
