"""Averages of a network's weights over training, kept as buffers so that checkpoints carry them.

* :class:`WeightEMA`: an exponential moving average copy of a network (the generator EMA of Karras et al. 2018,
  studied by Yazıcı et al. 2019), used for sampling.
* :class:`RunningMean`: the plain mean ``(1/t) Σ_i θ[i]`` of past weights, the anchor of historical averaging
  (Salimans et al. 2016, §3.3).

Both are updated after an optimiser step. Under DDP every rank holds the same weights after a step, so every rank
computes the same average.
"""

import copy

import torch
from torch import Tensor, nn

from zoo.arguments import InvalidArgument
from zoo.losses.stabilisers import historical_averaging_penalty


class WeightEMA(nn.Module):
    """``θ_ema <- decay · θ_ema + (1 - decay) · θ`` after each update of the source net; buffers (batch-norm
    statistics) are copied. Starts as a copy of the source.

    Args:
        source: the network to average (copied; the copy never receives gradients).
        decay: weight of the old average, in [0, 1).
    """

    def __init__(self, source: nn.Module, decay: float) -> None:
        super().__init__()
        if not 0.0 <= decay < 1.0:
            raise InvalidArgument(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.module = copy.deepcopy(source).requires_grad_(False)

    @torch.no_grad()
    def update(self, source: nn.Module) -> None:
        for average, current in zip(self.module.parameters(), source.parameters(), strict=True):
            average.lerp_(current.detach().to(average.dtype), 1.0 - self.decay)
        for average, current in zip(self.module.buffers(), source.buffers(), strict=True):
            average.copy_(current)

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)


class RunningMean(nn.Module):
    """The running mean of a network's parameters over its updates, ``(1/t) Σ_{i=1..t} θ[i]``, counting the
    initial weights as ``θ[1]``.

    Args:
        source: the network whose parameters are averaged.
    """

    def __init__(self, source: nn.Module) -> None:
        super().__init__()
        self.register_buffer("count", torch.ones((), dtype=torch.long))
        self.size = 0
        for i, parameter in enumerate(source.parameters()):
            self.register_buffer(f"mean{i}", parameter.detach().clone())
            self.size = i + 1

    @property
    def means(self) -> list[Tensor]:
        return [getattr(self, f"mean{i}") for i in range(self.size)]

    @torch.no_grad()
    def update(self, source: nn.Module) -> None:
        self.count += 1
        for mean, current in zip(self.means, source.parameters(), strict=True):
            mean.add_((current.detach() - mean) / self.count)

    def penalty(self, source: nn.Module) -> Tensor:
        """``Σ ||θ - mean||²`` over the parameters of ``source``, differentiable in θ."""
        return historical_averaging_penalty(source.parameters(), self.means)
