"""Latent priors p(z) that models sample from and match their codes to (AAE, WAE), chosen in YAML like a net.

A prior is built by a factory ``(latent_dim) -> prior``, so a config writes ``prior: {class_path:
zoo.core.priors.MixtureOfGaussians, init_args: {components: 10}}``. Priors are small modules (they show in the model
summary); ``sample`` draws on the CPU, where a seeded ``torch.Generator`` makes it reproducible, and the model moves
the draw to its device.
"""

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

from zoo.arguments import InvalidArgument


class StandardGaussian(nn.Module):
    """``p(z) = N(0, I)``.

    Args:
        latent_dim: size of z.
    """

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.variance = 1.0  # per-dimension variance: sets the MMD kernel width (Tolstikhin et al. 2017, Sec. 4)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` draws (n, latent_dim) on the CPU (the model moves them), reproducible with a CPU ``generator``."""
        return torch.randn(n, self.latent_dim, generator=generator)


class MixtureOfGaussians(nn.Module):
    """An equal-weight mixture of isotropic Gaussians whose means lie evenly on a circle (Makhzani et al. 2015, Fig. 4).

    Component ``k`` has mean ``radius · (cos 2πk/K, sin 2πk/K, 0, ..., 0)`` (the circle lies in the first two
    latent dimensions; with one dimension the means are evenly spaced on [-radius, radius]) and covariance std²·I.

    Args:
        latent_dim: size of z.
        components: number of mixture components K.
        radius: distance of every mean from the origin.
        std: standard deviation of each component.
    """

    def __init__(self, latent_dim: int, components: int = 10, radius: float = 4.0, std: float = 0.5) -> None:
        super().__init__()
        if components < 1 or std <= 0:
            raise InvalidArgument(f"need components >= 1 and std > 0, got {components} and {std}")
        self.latent_dim = latent_dim
        self.components = components
        self.std = std
        means = torch.zeros(components, latent_dim)
        if latent_dim == 1:
            means[:, 0] = torch.linspace(-radius, radius, components)
        else:
            angles = torch.arange(components) * (2 * math.pi / components)
            means[:, 0], means[:, 1] = radius * torch.cos(angles), radius * torch.sin(angles)
        self.register_buffer("means", means, persistent=False)  # (K, latent_dim); derived from the arguments
        # Mean per-dimension variance of the mixture: sets the MMD kernel width like a Gaussian prior's σ².
        self.variance = std**2 + means.pow(2).sum(1).mean().item() / latent_dim

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` draws (n, latent_dim) on the CPU: a uniformly chosen component plus its Gaussian noise."""
        component = torch.randint(self.components, (n,), generator=generator)
        noise = torch.randn(n, self.latent_dim, generator=generator)
        return self.means.cpu()[component] + self.std * noise


PriorFactory = Callable[[int], nn.Module]
"""``(latent_dim) -> prior``: how a model builds its prior from YAML; the prior has ``sample(n, generator)``."""
