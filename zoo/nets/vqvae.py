"""The VQ-VAE's convolutional encoder and decoder: images to a grid of D-dimensional vectors and back.

van den Oord et al. 2017, Sec. 4.1: "two strided convolutional layers with stride 2 and window size 4 × 4, followed
by two residual 3 × 3 blocks (implemented as ReLU, 3x3 conv, ReLU, 1x1 conv), all having 256 hidden units"; the
decoder is the same in reverse with two transposed convolutions. Each stride-2 layer halves the side: 28 px -> 7×7
with two, 32 px -> 8×8, 64 px -> 16×16 (or 8×8 with three).

Calling conventions (spatial versions of :mod:`zoo.nets`'): ``VQEncoder(image_shape, out_channels, **hyper)`` maps
(B, C, H, W) -> (B, D, h, w); ``VQDecoder(in_channels, image_shape, **hyper)`` maps (B, D, h, w) -> (B, C, H, W) raw
(pre-sigmoid) pixels.
"""

from torch import Tensor, nn


class ResidualBlock(nn.Module):
    """``x + conv1x1(relu(conv3x3(relu(x))))``, the paper's residual block."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, hidden, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(hidden, channels, 1))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def _check_divisible(image_shape: tuple[int, int, int], downsamples: int) -> None:
    _, height, width = image_shape
    factor = 2**downsamples
    if height % factor or width % factor:
        raise ValueError(f"images of {height}x{width} px cannot be halved {downsamples} times into a code grid; use an "
                         f"image size divisible by {factor} (--data.init_args.image_size) or fewer downsamples")


class VQEncoder(nn.Module):
    """``downsamples`` stride-2 4×4 convolutions, a 3×3 convolution, residual blocks and a 1×1 projection to D.

    Args:
        image_shape: (C, H, W) of the input.
        out_channels: D, the size of each vector of the grid.
        hidden_channels: channels of the convolutions (the paper's 256).
        residual_channels: hidden channels inside each residual block.
        residual_blocks: how many residual blocks.
        downsamples: stride-2 layers, each halving the side of the grid.
    """

    def __init__(self, image_shape: tuple[int, int, int], out_channels: int, hidden_channels: int = 128,
                 residual_channels: int = 32, residual_blocks: int = 2, downsamples: int = 2) -> None:
        super().__init__()
        _check_divisible(image_shape, downsamples)
        layers: list[nn.Module] = []
        channels = image_shape[0]
        for i in range(downsamples):
            width = hidden_channels if i == downsamples - 1 else max(hidden_channels // 2, 1)
            layers += [nn.Conv2d(channels, width, 4, stride=2, padding=1), nn.ReLU()]
            channels = width
        layers.append(nn.Conv2d(channels, hidden_channels, 3, padding=1))
        layers += [ResidualBlock(hidden_channels, residual_channels) for _ in range(residual_blocks)]
        layers += [nn.ReLU(), nn.Conv2d(hidden_channels, out_channels, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)  # (B, D, H / 2^downsamples, W / 2^downsamples)


class VQDecoder(nn.Module):
    """A 3×3 convolution from D, residual blocks, then ``downsamples`` stride-2 4×4 transposed convolutions.

    Args:
        in_channels: D.
        image_shape: (C, H, W) of the output.
        hidden_channels, residual_channels, residual_blocks, downsamples: as in :class:`VQEncoder`.
    """

    def __init__(self, in_channels: int, image_shape: tuple[int, int, int], hidden_channels: int = 128,
                 residual_channels: int = 32, residual_blocks: int = 2, downsamples: int = 2) -> None:
        super().__init__()
        _check_divisible(image_shape, downsamples)
        layers: list[nn.Module] = [nn.Conv2d(in_channels, hidden_channels, 3, padding=1)]
        layers += [ResidualBlock(hidden_channels, residual_channels) for _ in range(residual_blocks)]
        layers.append(nn.ReLU())
        channels = hidden_channels
        for i in range(downsamples):
            last = i == downsamples - 1
            width = image_shape[0] if last else max(hidden_channels // 2, 1)
            layers.append(nn.ConvTranspose2d(channels, width, 4, stride=2, padding=1))
            if not last:
                layers.append(nn.ReLU())
            channels = width
        self.net = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)  # (B, C, H, W), pre-sigmoid
