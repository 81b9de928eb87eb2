"""Ways of giving a net the labels: wrappers that make any zoo net conditional, as StudioGAN keeps the generator's
conditioning method apart from the discriminator's.

Every wrapper is built like the net it wraps (``(latent_dim, image_shape, net, num_classes)`` for a generator or
decoder, ``(image_shape, out_features, net, num_classes)`` for an encoder or discriminator), builds that net from its
factory ``net``, and takes the labels as the last argument of ``forward``: int64 class indices (B,) or (B, K) 0/1
attribute vectors. Both become a label vector y (B, K), one-hot or multi-hot (:func:`label_vectors`), and every
class embedding here is a linear map of y, so one embedding serves classes (its columns are the per-class vectors)
and attributes (a sum of the attributes' vectors) alike.

Generators:

* :class:`LabelConcat`: ``G([z, y])`` (Mirza & Osindero 2014). Concatenating the one-hot y to z before G's first
  linear layer (or transposed convolution on a 1×1 input) is the same as adding a learned per-class embedding to
  that layer's output.
* :class:`ConditionalBatchNorm`: every batch norm of G becomes a conditional one (de Vries et al. 2017; Miyato &
  Koyama 2018, §4): ``BN(h)·γ_y + β_y`` with per-class γ and β.

Discriminators and encoders:

* :class:`LabelChannels`: ``D([x, y])`` with y as K constant image channels (Mirza & Osindero's cGAN for a conv D;
  the CVAE's encoder q(z | x, y)).
* :class:`ProjectionDiscriminator`: ``D(x, y) = ψ(φ(x)) + yᵀ V φ(x)`` (Miyato & Koyama 2018, eq. 3).
* :class:`AuxiliaryClassifier`: D with K more outputs, the logits of its class head (ACGAN, Odena et al. 2017); the
  labels are read out, not fed in.
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from zoo.arguments import InvalidArgument


def label_vectors(labels: Tensor, num_classes: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """Class indices (B,) as one-hot vectors (B, K), or (B, K) 0/1 attribute vectors as they are, in ``dtype``."""
    if labels.dim() == 1:
        return F.one_hot(labels.long(), num_classes).to(dtype)
    if labels.dim() == 2 and labels.shape[1] == num_classes:
        return labels.to(dtype)
    raise InvalidArgument(f"labels must be class indices (B,) or attribute vectors (B, {num_classes}), got shape "
                          f"{tuple(labels.shape)}")


class LabelConcat(nn.Module):
    """``net([z, y])``: a generator or decoder of ``latent_dim + K`` inputs fed the noise and the label vector.

    Args:
        latent_dim: size of z.
        image_shape: (C, H, W) of the output.
        net: factory ``(latent_dim + K, image_shape) -> net``.
        num_classes: K.
    """

    def __init__(self, latent_dim: int, image_shape: tuple[int, int, int], net: Callable, num_classes: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.net = net(latent_dim + num_classes, image_shape)

    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        return self.net(torch.cat([z, label_vectors(labels, self.num_classes, z.dtype)], dim=1))  # (B, D + K)


class LabelChannels(nn.Module):
    """``net([x, y])``: an encoder or discriminator of ``C + K`` input channels fed the image and the label vector
    as K constant channels.

    Args:
        image_shape: (C, H, W) of the images.
        out_features: output width.
        net: factory ``((C + K, H, W), out_features) -> net``.
        num_classes: K.
    """

    def __init__(self, image_shape: tuple[int, int, int], out_features: int, net: Callable, num_classes: int) -> None:
        super().__init__()
        channels, height, width = image_shape
        self.num_classes = num_classes
        self.net = net((channels + num_classes, height, width), out_features)

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        y = label_vectors(labels, self.num_classes, x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[2:])
        return self.net(torch.cat([x, y], dim=1))  # (B, C + K, H, W) in


class ConditionalBatchNorm2d(nn.Module):
    """``BN(h)·(1 + W_γ y) + W_β y``: batch norm without its own affine map, then a gain and a bias that are linear
    maps of the label vector y (zero at the start, so it starts as plain batch norm). For a one-hot y that is a
    per-class ``γ_c = 1 + W_γ[:, c]``, ``β_c = W_β[:, c]``; for attributes, each attribute that is on adds its own.

    Its labels are set by :class:`ConditionalBatchNorm` for each forward pass of the net that holds it (``labels``).

    Args:
        num_features: channels of h.
        num_classes: K, the width of y.
        eps: batch norm's epsilon.
        momentum: batch norm's running-statistics momentum.
    """

    def __init__(self, num_features: int, num_classes: int, eps: float = 1e-5, momentum: float | None = 0.1) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.norm = nn.BatchNorm2d(num_features, eps=eps, momentum=momentum, affine=False)
        self.gain = nn.Linear(num_classes, num_features, bias=False)
        self.bias = nn.Linear(num_classes, num_features, bias=False)
        nn.init.zeros_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)
        self.labels: Tensor | None = None

    def forward(self, h: Tensor) -> Tensor:
        if self.labels is None:
            raise RuntimeError("ConditionalBatchNorm2d needs labels: call the net through ConditionalBatchNorm")
        y = label_vectors(self.labels, self.num_classes, h.dtype)
        normalised = self.norm(h)
        return normalised * (1 + self.gain(y))[:, :, None, None] + self.bias(y)[:, :, None, None]


class ConditionalBatchNorm(nn.Module):
    """A generator whose every ``BatchNorm2d`` is a :class:`ConditionalBatchNorm2d` (per-class γ and β, shared
    running statistics), as the generator of Miyato & Koyama's projection cGAN and mimicry's cGAN-PD: works with any
    net of ``norm: batch`` (DCGAN's, the residual one).

    Args:
        latent_dim: size of z.
        image_shape: (C, H, W) of the output.
        net: factory ``(latent_dim, image_shape) -> net`` with batch norm layers.
        num_classes: K.
    """

    def __init__(self, latent_dim: int, image_shape: tuple[int, int, int], net: Callable, num_classes: int) -> None:
        super().__init__()
        self.net = net(latent_dim, image_shape)
        replaced = 0
        for parent in list(self.net.modules()):
            for name, child in parent.named_children():
                if isinstance(child, nn.BatchNorm2d):
                    setattr(parent, name, ConditionalBatchNorm2d(child.num_features, num_classes, child.eps,
                                                                 child.momentum))
                    replaced += 1
        if not replaced:
            raise InvalidArgument(f"conditional batch norm found no batch norm in the generator "
                                  f"({type(self.net).__name__}); give it norm: batch, or use generator_conditioning: "
                                  "concat")

    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        layers = [m for m in self.net.modules() if isinstance(m, ConditionalBatchNorm2d)]
        for layer in layers:
            layer.labels = labels
        try:
            return self.net(z)
        finally:
            for layer in layers:
                layer.labels = None


class ProjectionDiscriminator(nn.Module):
    """``D(x, y) = ψ(φ(x)) + yᵀ V φ(x)`` (Miyato & Koyama 2018, eq. 3): the wrapped net's ``features`` φ and
    linear ``head`` ψ, plus the inner product of φ(x) with the label's embedding V y (V: (F, K), a linear map of y, so for a
    class c its column V_c). Spectral normalisation of D (``techniques.spectral_norm``) normalises V too, as the
    paper's SNEmbedID does.

    Args:
        image_shape: (C, H, W) of the images.
        out_features: 1 (one score per image).
        net: factory ``(image_shape, 1) -> net`` with ``features(x) -> (B, F)`` and a linear ``head``.
        num_classes: K.
    """

    def __init__(self, image_shape: tuple[int, int, int], out_features: int, net: Callable, num_classes: int) -> None:
        super().__init__()
        self.net = net(image_shape, out_features)
        head = getattr(self.net, "head", None)
        if not (isinstance(head, nn.Linear) and callable(getattr(self.net, "features", None))):
            raise InvalidArgument(f"a projection discriminator needs a net with features() and a linear head; "
                                  f"{type(self.net).__name__} has none")
        if out_features != 1:
            raise InvalidArgument(f"a projection discriminator gives one score per image, not {out_features}")
        self.num_classes = num_classes
        self.embed = nn.Linear(num_classes, head.in_features, bias=False)  # V

    def features(self, x: Tensor) -> Tensor:
        return self.net.features(x)

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        phi = self.features(x)  # (B, F)
        projection = (self.embed(label_vectors(labels, self.num_classes, phi.dtype)) * phi).sum(1, keepdim=True)
        return self.net.head(phi) + projection  # (B, 1)


class AuxiliaryClassifier(nn.Module):
    """D with ``out_features + K`` outputs: its own score(s), then the K logits of a class head sharing every layer
    but the last (ACGAN, Odena et al. 2017), as InfoGAN's Q widens D's head. The labels are not fed in.

    Args:
        image_shape: (C, H, W) of the images.
        out_features: D's own outputs (1).
        net: factory ``(image_shape, out_features + K) -> net``.
        num_classes: K.
    """

    def __init__(self, image_shape: tuple[int, int, int], out_features: int, net: Callable, num_classes: int) -> None:
        super().__init__()
        self.net = net(image_shape, out_features + num_classes)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(x)  # (B, out_features + K)


GENERATOR_CONDITIONING = {"concat": LabelConcat, "batch_norm": ConditionalBatchNorm}
"""How a generator takes the labels (``generator_conditioning``)."""
DISCRIMINATOR_CONDITIONING = {"concat": LabelChannels, "projection": ProjectionDiscriminator,
                              "classifier": AuxiliaryClassifier}
"""How a discriminator takes the labels (``discriminator_conditioning``)."""
