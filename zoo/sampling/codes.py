"""What a model's latent codes learned: a grid that varies one code at a time with everything else fixed (Chen et
al. 2016, Fig. 2, whose continuous sweeps go from -2 to 2, beyond the prior's [-1, 1]).

Each column is one latent drawn from the prior; each row sets one code to one value in every column. Rows come
in blocks: for each categorical code, one row per value; then for each continuous code, ``steps`` rows sweeping
it from -2 to 2. Down a column only the code that row sets changes, so a column shows what that code does to one
sample.
"""

import torch
from torch import Tensor

from zoo.core.codes import LatentCodes
from zoo.sampling.modes import codes_refusal

SWEEP = (-2.0, 2.0)


def grid_rows(codes: LatentCodes, steps: int) -> int:
    """The rows of a codes grid: ``K`` per categorical code, ``steps`` per continuous code."""
    return codes.categorical * codes.categorical_dim + codes.continuous_codes * steps


def code_grid_latents(codes: LatentCodes, columns: int, steps: int = 10, sweep: tuple[float, float] = SWEEP,
                      generator: torch.Generator | None = None) -> Tensor:
    """Latents (rows, columns, width) of a codes grid (module docstring), on the CPU."""
    if columns < 1 or steps < 1:
        raise ValueError(f"a codes grid needs columns >= 1 and steps >= 1, got columns={columns}, steps={steps}")
    noise, categorical, continuous = codes.split(codes.sample(columns, generator))  # one prior draw per column
    rows = []
    for code in range(codes.categorical):
        for value in range(codes.categorical_dim):
            row = categorical.clone()
            row[:, code] = value
            rows.append(codes.join(noise, row, continuous))
    for code in range(codes.continuous_codes):
        for value in torch.linspace(*sweep, steps):
            row = continuous.clone()
            row[:, code] = value
            rows.append(codes.join(noise, categorical, row))
    return torch.stack(rows)


@torch.no_grad()
def code_grid(model, columns: int = 10, steps: int = 10, seed: int = 0) -> Tensor:
    """The codes grid of ``model`` as images (rows·columns, C, H, W) in [0, 1], row by row (save with
    ``nrow=columns``); models without :meth:`~zoo.core.base.GenerativeModel.latent_codes` are refused."""
    codes = model.latent_codes()
    if codes is None:
        raise codes_refusal(model)
    z = code_grid_latents(codes, columns, steps, generator=torch.Generator().manual_seed(seed))
    return model.sample(z.shape[0] * z.shape[1], z=z.flatten(0, 1))
