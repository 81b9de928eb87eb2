"""Walks and arithmetic in latent space (Radford et al. 2015; White 2016 for spherical interpolation)."""

import torch
from torch import Tensor

from zoo.sampling.labels import resolve_labels
from zoo.sampling.modes import check_mode


def lerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """``(1 - t) a + t b`` for rows ``a``, ``b`` (B, D) and weights ``t`` (T,). Shape (B, T, D)."""
    t = t.to(a)[None, :, None]
    return (1 - t) * a[:, None] + t * b[:, None]


def slerp(a: Tensor, b: Tensor, t: Tensor, eps: float = 1e-7) -> Tensor:
    """Spherical interpolation: follows the great circle between ``a`` and ``b`` (norms interpolated linearly),
    which keeps intermediate points at the typical radius of a Gaussian prior. Shape (B, T, D)."""
    t = t.to(a)[None, :, None]
    a_norm, b_norm = a.norm(dim=1, keepdim=True), b.norm(dim=1, keepdim=True)
    a_unit, b_unit = a / a_norm.clamp_min(eps), b / b_norm.clamp_min(eps)
    omega = torch.acos((a_unit * b_unit).sum(1, keepdim=True).clamp(-1 + eps, 1 - eps))[:, None]  # (B, 1, 1)
    sin = torch.sin(omega)
    direction = (torch.sin((1 - t) * omega) * a_unit[:, None] + torch.sin(t * omega) * b_unit[:, None]) / sin
    return direction * ((1 - t) * a_norm[:, None] + t * b_norm[:, None])


@torch.no_grad()
def interpolation_strips(model, rows: int = 8, steps: int = 10, mode: str = "slerp", seed: int = 0,
                         labels=None, prior: str | None = None) -> Tensor:
    """``rows`` strips of ``steps`` images between pairs of random latents; images (rows·steps, C, H, W) in [0, 1].

    A conditional model interpolates within a class: each strip keeps one label, ``labels`` (one for every strip,
    or one per strip, as :func:`~zoo.sampling.labels.resolve_labels` reads them) or drawn as the model draws them.
    ``prior`` names a fitted latent prior to draw the ends from (None: the model's own)."""
    if mode not in ("lerp", "slerp"):
        raise ValueError(f"unknown interpolation {mode!r}; choose lerp or slerp")
    check_mode(model, "interpolate")  # e.g. grids of discrete codes have no path between them
    generator = torch.Generator().manual_seed(seed)
    if prior is None:
        a, b = model.sample_latent(rows, generator), model.sample_latent(rows, generator)
    else:
        a, b = model.draw_latent(rows, generator, prior), model.draw_latent(rows, generator, prior)
    path = (slerp if mode == "slerp" else lerp)(a, b, torch.linspace(0, 1, steps))
    row_labels = resolve_labels(model, labels, rows, generator)
    along = None if row_labels is None else row_labels.repeat_interleave(steps, dim=0)  # one label per strip
    return model.sample(rows * steps, z=path.flatten(0, 1), labels=along)


@torch.no_grad()
def class_mean_latents(model, images: Tensor, labels: Tensor, classes: list[int]) -> Tensor:
    """The mean code ``E[encode(x) | class]`` of each class in ``classes`` (images in [-1, 1]). Shape (K, D)."""
    if not hasattr(model, "encode"):
        raise ValueError(f"{type(model).__name__} has no encoder; latent arithmetic needs one")
    model.eval()
    means = []
    for c in classes:
        selected = images[labels == c]
        if len(selected) == 0:
            raise ValueError(f"no images of class {c} to average")
        code = model.encode(selected)
        means.append((code[0] if isinstance(code, tuple) else code).float().mean(0))
    return torch.stack(means)


@torch.no_grad()
def latent_arithmetic(model, images: Tensor, labels: Tensor, a: int, b: int, c: int) -> Tensor:
    """``mean(a) - mean(b) + mean(c)`` in code space, decoded: images [a, b, c, result] in [0, 1]. Shape (4, C, H, W)."""
    check_mode(model, "arithmetic")  # e.g. the indices of discrete codes have no means
    means = class_mean_latents(model, images, labels, [a, b, c])
    result = means[0] - means[1] + means[2]
    return model.sample(4, z=torch.cat([means, result[None]]))
