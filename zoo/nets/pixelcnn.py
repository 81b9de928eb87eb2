"""A gated PixelCNN over a grid of discrete codes: ``p(k) = Π_i p(k_i | k_1, ..., k_{i-1})`` in raster order, a
K-way softmax at every position (the VQ-VAE's prior, van den Oord et al. 2017, Sec. 3.2 and 4.2).

van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves & Kavukcuoglu 2016, "Conditional Image Generation with
PixelCNN Decoders": each layer has a *vertical* stack that sees every row above the current one (its kernel reaches
the rows above only) and a *horizontal* stack that sees the current row to the left of the current position and,
through a 1×1 connection, the vertical stack of the same row. Stacked, they cover every earlier position with no blind
spot. Both use the gated unit ``y = tanh(W_f * x) ⊙ σ(W_g * x)`` (eq. 2); the horizontal stack is residual.

Causality: a vertical convolution of kernel (k//2 + 1, k) padded k//2 above and cropped to the grid sees rows
``i - k//2 .. i``; a horizontal one of kernel (1, k//2 + 1) sees columns ``j - k//2 .. j``. In the first layer the
current row (vertical) and the current column (horizontal) are masked out, so from then on the vertical stack at row
i depends on rows < i and the horizontal stack at (i, j) on earlier positions only; later layers may include their
own row and column, which hold no information about the current code.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class MaskedConv2d(nn.Conv2d):
    """A convolution whose weights are multiplied by a fixed 0/1 mask (a buffer) in every forward pass."""

    def __init__(self, *args, mask: Tensor | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.register_buffer("mask", torch.ones_like(self.weight) if mask is None else mask, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return self._conv_forward(x, self.weight * self.mask, self.bias)


def gate(x: Tensor) -> Tensor:
    """``tanh(a) ⊙ σ(b)`` of the two channel halves ``a, b`` of ``x``."""
    a, b = x.chunk(2, dim=1)
    return torch.tanh(a) * torch.sigmoid(b)


class GatedLayer(nn.Module):
    """One gated PixelCNN layer: ``(vertical, horizontal) -> (vertical', horizontal')``, both (B, C, h, w).

    Args:
        channels: C.
        kernel_size: k (odd).
        first: the first layer (masks the current row and column; no residual connection, since its horizontal
            input holds the current code).
    """

    def __init__(self, channels: int, kernel_size: int, first: bool = False) -> None:
        super().__init__()
        half = kernel_size // 2
        self.first = first
        vertical_mask = torch.ones(2 * channels, channels, half + 1, kernel_size)
        horizontal_mask = torch.ones(2 * channels, channels, 1, half + 1)
        if first:
            vertical_mask[:, :, -1] = 0  # not the current row
            horizontal_mask[:, :, :, -1] = 0  # not the current column
        self.vertical = MaskedConv2d(channels, 2 * channels, (half + 1, kernel_size), padding=(half, half),
                                     mask=vertical_mask)
        self.horizontal = MaskedConv2d(channels, 2 * channels, (1, half + 1), padding=(0, half), mask=horizontal_mask)
        self.vertical_to_horizontal = nn.Conv2d(2 * channels, 2 * channels, 1)
        self.horizontal_out = nn.Conv2d(channels, channels, 1)

    def forward(self, vertical: Tensor, horizontal: Tensor) -> tuple[Tensor, Tensor]:
        h, w = vertical.shape[-2:]
        v = self.vertical(vertical)[:, :, :h]  # rows i - k//2 .. i (.. i - 1 in the first layer)
        hz = self.horizontal(horizontal)[:, :, :, :w]  # columns j - k//2 .. j (.. j - 1 in the first layer)
        out = self.horizontal_out(gate(hz + self.vertical_to_horizontal(v)))
        return gate(v), out if self.first else horizontal + out


class GatedPixelCNN(nn.Module):
    """Logits (B, K, h, w) of ``p(k_i | k_<i)`` for a grid of code indices (B, h, w).

    Args:
        num_codes: K, the categories at each position.
        channels: C, the width of both stacks (the code embedding's size too).
        layers: gated layers; their receptive field grows by k//2 rows and columns per layer, so use at least about
            the grid's side (divided by k//2) to let every position see the whole grid before it.
        kernel_size: k (odd, >= 3).
        head_channels: hidden channels of the 1×1 output head.
    """

    def __init__(self, num_codes: int, channels: int = 64, layers: int = 10, kernel_size: int = 3,
                 head_channels: int = 256) -> None:
        super().__init__()
        if kernel_size < 3 or kernel_size % 2 == 0:
            raise ValueError(f"the PixelCNN's kernel_size must be odd and >= 3, got {kernel_size}")
        self.num_codes = num_codes
        self.embedding = nn.Embedding(num_codes, channels)
        self.layers = nn.ModuleList(GatedLayer(channels, kernel_size, first=i == 0) for i in range(layers))
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, head_channels, 1), nn.ReLU(),
                                  nn.Conv2d(head_channels, num_codes, 1))

    def embed(self, codes: Tensor) -> Tensor:
        """Code indices (B, h, w) -> their embeddings (B, C, h, w)."""
        return self.embedding(codes).permute(0, 3, 1, 2)

    def forward_embedded(self, x: Tensor) -> Tensor:
        """Logits (B, K, h, w) from embedded codes (B, C, h, w); the causality tests differentiate through this."""
        vertical = horizontal = x
        for layer in self.layers:
            vertical, horizontal = layer(vertical, horizontal)
        return self.head(horizontal)

    def forward(self, codes: Tensor) -> Tensor:
        return self.forward_embedded(self.embed(codes))

    def nll(self, codes: Tensor) -> Tensor:
        """``-log p(k_i | k_<i)`` averaged over positions and the batch: nats per code."""
        return F.cross_entropy(self(codes).float(), codes)

    @torch.no_grad()
    def sample(self, uniforms: Tensor) -> Tensor:
        """Codes (B, h, w) drawn in raster order by inverting each conditional CDF at ``uniforms`` (B, h, w) in [0, 1]:
        ``k_i = min{k : Σ_{j<=k} p(j | k_<i) > u_i}``, so the same uniforms give the same codes."""
        b, h, w = uniforms.shape
        codes = torch.zeros(b, h, w, dtype=torch.long, device=uniforms.device)
        for i in range(h):
            for j in range(w):  # rows below i do not reach row i: leave them out of the pass
                probabilities = torch.softmax(self(codes[:, : i + 1])[:, :, i, j].float(), dim=1)  # (B, K)
                cdf = probabilities.cumsum(1)
                u = uniforms[:, i, j].float().clamp(0, 1)[:, None] * cdf[:, -1:]  # within the CDF's float total
                codes[:, i, j] = (cdf <= u).sum(1).clamp_max(self.num_codes - 1)
        return codes
