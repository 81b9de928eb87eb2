"""Spectral normalisation of a network's layers (Miyato et al. 2018, Spectral Normalization for Generative
Adversarial Networks, arXiv:1802.05957).

Each weight W is used as ``W / σ(W)``, σ(W) its largest singular value (of W reshaped to a matrix: out × in·k·k for
a convolution, in × out·k·k for a transposed one), so every layer is 1-Lipschitz in that sense. σ is
estimated by power iteration: torch's :func:`torch.nn.utils.parametrizations.spectral_norm` runs 15 iterations when
a layer is wrapped and then one per forward pass in training mode (Algorithm 1), reusing its vectors u and v,
which are buffers of the layer: they are in the state_dict, so a checkpoint and a resumed run carry them exactly.
In eval mode the stored u and v are used as they are, so sampling and scoring move no state.

A weight's scale no longer changes what the layer computes, but it sets the step size: the optimiser moves W, and
``W / σ(W)`` moves about ``1/σ(W)`` times as far. Small initial weights (DCGAN's N(0, 0.02)) therefore make large
effective steps; :class:`~zoo.nets.discriminators.UnnormalisedDCGANDiscriminator` keeps torch's initialisation.
"""

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from zoo.arguments import InvalidArgument

NORMALISED_LAYERS = (nn.Linear, nn.modules.conv._ConvNd)
"""The layers whose weights are normalised: every linear map, convolution and transposed convolution."""


def spectral_normalise(net: nn.Module, name: str = "network") -> nn.Module:
    """Spectrally normalise every linear, convolutional and transposed-convolutional layer of ``net`` in place
    (skipping none: the first layer and the output head too) and return it.

    A layer whose weight is all zeros (e.g. a head that starts switched off, as minibatch discrimination's) is
    first given N(0, 0.02) weights: ``W / σ(W)`` has no value at W = 0 (it would be NaN), and the normalised layer
    cannot start at zero anyway.

    Args:
        net: the network (its layers are changed in place).
        name: what ``net`` is, for the error when it has no such layer.

    Raises:
        InvalidArgument: ``net`` has no linear or convolutional layer to normalise.
    """
    layers = [m for m in net.modules() if isinstance(m, NORMALISED_LAYERS)]
    if not layers:
        raise InvalidArgument(f"spectral normalisation found no linear or convolutional layer in the {name} "
                              f"({type(net).__name__}); it normalises the weights of such layers")
    for layer in layers:
        if not layer.weight.detach().any():
            nn.init.normal_(layer.weight, 0.0, 0.02)
        spectral_norm(layer)
    return net
