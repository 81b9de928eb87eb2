"""The VQ-VAE's codebook: nearest-neighbour quantisation of encoder outputs against K vectors of D dimensions, the
exponential-moving-average update of the codes, and the restart of dead codes.

van den Oord, Vinyals & Kavukcuoglu 2017, "Neural Discrete Representation Learning": Sec. 3.1 (quantisation,
``z_q(x) = e_k`` with ``k = argmin_j ||z_e(x) - e_j||₂``) and Appendix A.1 (the EMA codebook, with Laplace-smoothed
counts in their reference implementation). The straight-through gradient and the loss terms are in
:mod:`zoo.losses.vector_quantization`.
"""

import torch
from torch import Tensor, nn

CODEBOOK_UPDATES = ("ema", "loss")


def nearest_codes(z: Tensor, codebook: Tensor) -> Tensor:
    """The index of the nearest code for every row: ``argmin_k ||z_n - e_k||²`` for ``z`` (N, D) and ``codebook``
    (K, D), expanded as ``||z||² - 2 z·e + ||e||²`` (in float32; ties go to the lower index). Shape (N,)."""
    z, codebook = z.float(), codebook.float()
    with torch.autocast(z.device.type, enabled=False):  # distances in bf16 would pick wrong neighbours
        distances = z.pow(2).sum(1, keepdim=True) - 2 * z @ codebook.T + codebook.pow(2).sum(1)[None]
    return distances.argmin(1)


@torch.no_grad()
def ema_codebook_update(cluster_size: Tensor, code_sum: Tensor, z: Tensor, indices: Tensor, decay: float,
                        epsilon: float = 1e-5) -> tuple[Tensor, Tensor, Tensor]:
    """One EMA step of the codebook (Appendix A.1, eqs. 6-8), returning new ``(cluster_size, code_sum, codebook)``:

    ``N_k ← γ N_k + (1 - γ) n_k``, ``m_k ← γ m_k + (1 - γ) Σ_{i: k_i = k} z_i``, ``e_k = m_k / Ñ_k`` with the
    Laplace-smoothed counts ``Ñ_k = (N_k + ε) / (n + K ε) · n``, ``n = Σ_k N_k``, so that a code with no count keeps a
    finite vector.

    Args:
        cluster_size: N (K,), the running counts.
        code_sum: m (K, D), the running sums of the vectors assigned to each code.
        z: encoder outputs (N, D) of this batch.
        indices: their codes (N,).
        decay: γ in [0, 1).
        epsilon: ε of the Laplace smoothing.
    """
    codebook_size = cluster_size.shape[0]
    one_hot = torch.zeros(len(indices), codebook_size, device=z.device)
    one_hot[torch.arange(len(indices), device=z.device), indices] = 1.0
    with torch.autocast(z.device.type, enabled=False):
        cluster_size = decay * cluster_size + (1 - decay) * one_hot.sum(0)
        code_sum = decay * code_sum + (1 - decay) * (one_hot.T @ z.float())
    n = cluster_size.sum()
    smoothed = (cluster_size + epsilon) / (n + codebook_size * epsilon) * n
    return cluster_size, code_sum, code_sum / smoothed[:, None]


class VectorQuantizer(nn.Module):
    """A codebook of K vectors e_k ∈ R^D; ``forward`` maps each D-vector of an encoder's grid to its nearest code.

    The codes are learned either by the codebook loss ``||sg[z_e] - e||²`` (``update="loss"``: ``codebook`` is a
    parameter of the VQ-VAE's optimiser) or by exponential moving averages of the encoder outputs assigned to each code
    (``update="ema"``: buffers, moved by :meth:`update` after each training step). Either way, a code that no encoder
    output chose for ``dead_after`` training steps is *dead*: :meth:`update` re-initialises it from a random encoder
    output of the current batch (drawn from the global generator, so the restarts follow the seed and resume exactly),
    as Dhariwal et al. 2020 (Jukebox) and Łańcucki et al. 2020 do.

    Args:
        codebook_size: K.
        dim: D, the size of each code.
        update: ``ema`` or ``loss``.
        decay: γ of the EMA update.
        epsilon: ε of its Laplace smoothing.
        dead_after: training steps without an assignment after which a code is restarted (0: never restart).
    """

    def __init__(self, codebook_size: int, dim: int, update: str = "ema", decay: float = 0.99,
                 epsilon: float = 1e-5, dead_after: int = 100) -> None:
        super().__init__()
        if update not in CODEBOOK_UPDATES:
            raise ValueError(f"unknown codebook update {update!r}; choose one of {CODEBOOK_UPDATES}")
        self.codebook_size, self.dim, self.update_rule = codebook_size, dim, update
        self.decay, self.epsilon, self.dead_after = decay, epsilon, dead_after
        initial = torch.empty(codebook_size, dim).uniform_(-1 / codebook_size, 1 / codebook_size)
        if update == "loss":
            self.codebook = nn.Parameter(initial)
        else:
            self.register_buffer("codebook", initial)
            # Counts start at 1 with sums equal to the codes, so an unused code keeps its vector rather than being
            # divided by a near-zero count.
            self.register_buffer("cluster_size", torch.ones(codebook_size))
            self.register_buffer("code_sum", initial.clone())
        self.register_buffer("unused_for", torch.zeros(codebook_size, dtype=torch.long))  # training steps unchosen

    def quantize(self, z_e: Tensor) -> tuple[Tensor, Tensor]:
        """``z_e`` (B, D, h, w) -> ``(z_q, indices)``: the nearest codes (B, D, h, w) (no straight-through here) and
        their indices (B, h, w)."""
        b, d, h, w = z_e.shape
        if d != self.dim:
            raise ValueError(f"the encoder gives {d}-dimensional vectors but the codebook holds {self.dim}-dimensional "
                             "codes; give the encoder out_channels equal to embedding_dim")
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, d)  # (B·h·w, D)
        indices = nearest_codes(flat, self.codebook).view(b, h, w)
        return self.lookup(indices).to(z_e.dtype), indices

    def lookup(self, indices: Tensor) -> Tensor:
        """Code indices (B, h, w) -> their vectors as a grid (B, D, h, w)."""
        return self.codebook[indices].permute(0, 3, 1, 2)

    def dead_codes(self, indices: Tensor) -> Tensor:
        """Which codes (K,) bool will count as dead once the assignments ``indices`` of this step are counted."""
        used = torch.bincount(indices.flatten(), minlength=self.codebook_size) > 0
        return (self.dead_after > 0) & ~used & (self.unused_for + 1 >= self.dead_after)

    @torch.no_grad()
    def update(self, z_e: Tensor, indices: Tensor) -> int:
        """After a training step on encoder outputs ``z_e`` (B, D, h, w) assigned to ``indices`` (B, h, w): the EMA
        update of the codes (``update="ema"``), then the restart of dead codes. Returns how many were restarted."""
        flat = z_e.detach().permute(0, 2, 3, 1).reshape(-1, self.dim).float()
        indices = indices.flatten()
        if self.update_rule == "ema":
            cluster_size, code_sum, codebook = ema_codebook_update(
                self.cluster_size, self.code_sum, flat, indices, self.decay, self.epsilon)
            self.cluster_size.copy_(cluster_size)
            self.code_sum.copy_(code_sum)
            self.codebook.copy_(codebook)
        dead = self.dead_codes(indices)
        used = torch.bincount(indices, minlength=self.codebook_size) > 0
        self.unused_for.copy_(torch.where(used, torch.zeros_like(self.unused_for), self.unused_for + 1))
        return self.restart(dead, flat)

    @torch.no_grad()
    def restart(self, dead: Tensor, candidates: Tensor) -> int:
        """Set the codes where ``dead`` (K,) is True to random rows of ``candidates`` (N, D) (distinct rows while there
        are enough); an EMA code also gets count 1 and sum equal to its new vector. Returns how many were reset."""
        where = dead.nonzero().flatten()
        if len(where) == 0:
            return 0
        n = len(candidates)
        chosen = torch.randperm(n, device=candidates.device)[: len(where)] if n >= len(where) else \
            torch.randint(n, (len(where),), device=candidates.device)
        vectors = candidates[chosen].to(self.codebook.dtype)
        self.codebook.data[where] = vectors
        if self.update_rule == "ema":
            self.cluster_size[where] = 1.0
            self.code_sum[where] = vectors
        self.unused_for[where] = 0
        return len(where)
