"""The conditional figure: one row per class (per attribute, for an attribute model), the same noise down each
column, so a column shows one latent drawn as every class (Mirza & Osindero 2014, Fig. 2; Odena et al. 2017, Fig. 7)."""

import torch
from torch import Tensor

from zoo.sampling.labels import labels_refusal


def grid_labels(model) -> Tensor:
    """The labels of a class grid's rows: every class (K,), or for an attribute model each attribute alone on
    (K, K); on the CPU."""
    if model.label_kind == "attributes":
        return torch.eye(model.num_classes, dtype=torch.long)
    return torch.arange(model.num_classes)


def class_grid_inputs(model, columns: int, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Latents (K·columns, latent_dim) and labels of a class grid, row by row: one prior draw per column,
    repeated in every row; refused for a model without labels."""
    if not model.conditional:
        raise labels_refusal(model, "class grid")
    if columns < 1:
        raise ValueError(f"a class grid needs columns >= 1, got {columns}")
    rows = grid_labels(model)
    z = model.sample_latent(columns, generator).cpu()
    return z.repeat(len(rows), 1), rows.repeat_interleave(columns, dim=0)


@torch.no_grad()
def class_grid(model, columns: int = 10, seed: int = 0) -> Tensor:
    """The class grid of ``model`` as images (K·columns, C, H, W) in [0, 1], row by row (save with
    ``nrow=columns``)."""
    z, labels = class_grid_inputs(model, columns, torch.Generator().manual_seed(seed))
    return model.sample(len(z), z=z, labels=labels)
