"""How much memory a sampling request needs in all: its output, the data it reads, and the intermediate tensors of
the nets for the images computed at once, so a request the machine cannot hold is refused before it starts (and
is not killed by the kernel minutes later)."""

import math

import torch

from zoo.sampling.labels import resolve_labels

CHUNK = 500
"""Images generated at once where the work can be split (plain samples, DRS, DDLS chains)."""


@torch.no_grad()
def activation_bytes(model, with_critic: bool = False) -> float:
    """Bytes of every tensor the nets' modules output for one generated image (and its discriminator's energy,
    when ``with_critic``), measured on a batch of two: an upper bound of what a forward pass holds per image."""
    total = 0

    def count(module, inputs, output) -> None:
        nonlocal total
        for tensor in output if isinstance(output, (tuple, list)) else (output,):
            if isinstance(tensor, torch.Tensor):
                total += tensor.numel() * tensor.element_size()

    hooks = [module.register_forward_hook(count) for module in model.modules() if module is not model]
    try:
        images = model.sample(2, seed=0) * 2 - 1
        if with_critic:
            labels = resolve_labels(model, None, 2, torch.Generator().manual_seed(0))  # a conditional D's: per class
            condition = () if labels is None else (labels,)
            if "ddls" in model.density_samplers():
                model.energy(images, *condition)
            else:
                model.log_density_ratio(images, *condition)
    finally:
        for hook in hooks:
            hook.remove()
    return total / 2


def sample_bytes(model, mode: str, n: int, images_per_row: int, data_images: int) -> float:
    """Estimated peak bytes of ``zoo sample --mode MODE --n N``: the output grid (images, the grid and its 8-bit
    copy), ``data_images`` real images read, and the nets' tensors for the images computed at once."""
    pixels = math.prod(model.image_shape)
    output = n * images_per_row * pixels * (4 + 4 + 3)
    at_once = {"plain": min(n, CHUNK), "drs": CHUNK, "ddls": min(n, CHUNK), "interpolate": n * images_per_row,
               "codes": n * images_per_row, "classes": n * images_per_row, "neighbours": min(n, CHUNK)}.get(mode, n)
    critic = mode in ("drs", "ddls")
    nets = at_once * activation_bytes(model, with_critic=critic) * (3 if mode == "ddls" else 1)  # ddls: gradients
    distances = n * 2048 * 8 * 2 if mode == "neighbours" else 0  # the distance block and its merge
    return output + data_images * pixels * 4 * 2 + nets + distances
