"""Improved precision and recall for generative models (Kynkäänniemi et al. 2019, arXiv:1904.06991).

Each set of features defines a manifold: the union of balls around its points, each ball's radius being the
distance to that point's k-th nearest neighbour in the same set. Precision is the fraction of generated samples
inside the real manifold (sample quality); recall the fraction of real samples inside the generated manifold
(coverage).
"""

import torch
from torch import Tensor


def knn_radii(features: Tensor, k: int = 3, chunk: int = 1024) -> Tensor:
    """Distance from every row to its k-th nearest other row. Shape (N,)."""
    radii = []
    for part in features.split(chunk):
        distances = torch.cdist(part, features)  # (chunk, N); includes the zero distance to itself
        radii.append(distances.kthvalue(k + 1, dim=1).values)
    return torch.cat(radii)


def fraction_inside(points: Tensor, centres: Tensor, radii: Tensor, chunk: int = 1024) -> float:
    """Fraction of ``points`` that lie within ``radii`` of at least one of ``centres``."""
    inside = []
    for part in points.split(chunk):
        inside.append((torch.cdist(part, centres) <= radii[None, :]).any(dim=1))
    return torch.cat(inside).float().mean().item()


def precision_recall(real: Tensor, fake: Tensor, k: int = 3) -> tuple[float, float]:
    """``(precision, recall)`` of generated features ``fake`` against real features ``real`` (rows are samples)."""
    real, fake = real.double(), fake.double()
    return fraction_inside(fake, real, knn_radii(real, k)), fraction_inside(real, fake, knn_radii(fake, k))
