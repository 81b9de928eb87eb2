"""Nearest training neighbours of generated samples: the memorisation check of Goodfellow et al. (2014)."""

import torch
from torch import Tensor


@torch.no_grad()
def nearest_neighbours(samples: Tensor, training: Tensor, k: int = 5, chunk: int = 2048) -> Tensor:
    """Indices (n, k) of the ``k`` training images closest to each sample in pixel (L2) distance."""
    flat = samples.flatten(1).float()
    best_distance = torch.full((len(samples), k), float("inf"))
    best_index = torch.zeros((len(samples), k), dtype=torch.long)
    for start in range(0, len(training), chunk):
        distances = torch.cdist(flat, training[start : start + chunk].flatten(1).float())  # (n, chunk)
        merged_d = torch.cat([best_distance, distances], 1)
        merged_i = torch.cat([best_index, torch.arange(start, start + distances.shape[1]).expand_as(distances)], 1)
        best_distance, order = merged_d.topk(k, dim=1, largest=False)
        best_index = merged_i.gather(1, order)
    return best_index


def neighbour_panel(samples: Tensor, training: Tensor, k: int = 5) -> Tensor:
    """Rows of [sample, its k nearest training images]: (n·(k+1), C, H, W), same range as the inputs."""
    index = nearest_neighbours(samples, training, k)
    rows = [torch.cat([s[None], training[i]]) for s, i in zip(samples, index)]
    return torch.cat(rows)
