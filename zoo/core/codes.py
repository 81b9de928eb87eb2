"""Interpretable latent codes beside the noise: the latent of InfoGAN (Chen et al. 2016, arXiv:1606.03657, §4).

A latent vector is ``[z | one-hot(c_1) | ... | one-hot(c_m) | c'_1 ... c'_k]``: incompressible noise
``z ~ N(0, I)``, ``m`` categorical codes ``c_i ~ Cat(K, 1/K)`` written one-hot, and ``k`` continuous codes
``c'_j ~ U(-1, 1)``. :class:`LatentCodes` draws, splits and rebuilds such vectors; the model's generator sees the
whole vector, and what reads the codes back (the mutual-information loss, ``zoo sample --mode codes``,
``zoo evaluate --metrics code_accuracy``) goes through :meth:`LatentCodes.split` and :meth:`LatentCodes.join`.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

CONTINUOUS_RANGE = (-1.0, 1.0)
"""The support of each continuous code's prior U(-1, 1)."""


@dataclass(frozen=True)
class LatentCodes:
    """The layout of a latent made of noise and codes.

    Attributes:
        noise_dim: size of the noise z.
        categorical_dim: K, the values of each categorical code (0: no categorical code).
        categorical_codes: m, how many K-way categorical codes (ignored when ``categorical_dim`` is 0).
        continuous_codes: k, how many continuous codes.
    """

    noise_dim: int
    categorical_dim: int
    categorical_codes: int
    continuous_codes: int

    @property
    def categorical(self) -> int:
        """The number of categorical codes (0 when ``categorical_dim`` is 0)."""
        return self.categorical_codes if self.categorical_dim > 0 else 0

    @property
    def width(self) -> int:
        """The whole latent's size: noise, one-hot codes, continuous codes."""
        return self.noise_dim + self.categorical * self.categorical_dim + self.continuous_codes

    @property
    def categorical_entropy(self) -> float:
        """``H(c_1, ..., c_m) = m log K`` nats: the most the categorical codes can tell about an image."""
        return self.categorical * math.log(self.categorical_dim) if self.categorical else 0.0

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` latents (n, width) from the prior, on the CPU (reproducible with a CPU ``generator``)."""
        noise = torch.randn(n, self.noise_dim, generator=generator)
        categorical = torch.randint(0, max(self.categorical_dim, 1), (n, self.categorical), generator=generator)
        low, high = CONTINUOUS_RANGE
        continuous = low + (high - low) * torch.rand(n, self.continuous_codes, generator=generator)
        return self.join(noise, categorical, continuous)

    def join(self, noise: Tensor, categorical: Tensor, continuous: Tensor) -> Tensor:
        """The latent (B, width) of noise (B, noise_dim), categorical values (B, m) (integers in [0, K)) and
        continuous codes (B, k)."""
        one_hot = F.one_hot(categorical.long(), self.categorical_dim).to(noise).flatten(1) if self.categorical else \
            noise.new_zeros(len(noise), 0)
        return torch.cat([noise, one_hot, continuous.to(noise)], dim=1)

    def split(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(noise (B, noise_dim), categorical values (B, m) as integers, continuous codes (B, k))`` of latents
        (B, width): the inverse of :meth:`join`."""
        one_hot_width = self.categorical * self.categorical_dim
        noise, one_hot, continuous = z.split([self.noise_dim, one_hot_width, self.continuous_codes], dim=1)
        categorical = one_hot.view(len(z), self.categorical, self.categorical_dim).argmax(2) if self.categorical else \
            torch.zeros(len(z), 0, dtype=torch.long, device=z.device)
        return noise, categorical, continuous
