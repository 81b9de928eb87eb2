"""Energy-based (autoencoder) discriminators: EBGAN's margin loss and pull-away term, BEGAN's control of k."""

import torch
import torch.nn.functional as F
from torch import Tensor


# --- energy-based discriminators: EBGAN (Zhao et al. 2016, arXiv:1609.03126), BEGAN (Berthelot et al. 2017) -------


def reconstruction_energy(reconstruction: Tensor, target: Tensor, kind: str = "mse") -> Tensor:
    """Per-image energy (B,): the mean over pixels of the squared (``mse``) or absolute (``l1``) error."""
    error = reconstruction.float() - target.float()
    if kind == "mse":
        return error.pow(2).flatten(1).mean(1)
    if kind == "l1":
        return error.abs().flatten(1).mean(1)
    raise ValueError(f"unknown reconstruction energy {kind!r}; choose 'mse' or 'l1'")


def ebgan_discriminator_loss(real_energy: Tensor, fake_energy: Tensor, margin: float) -> Tensor:
    """``D(x) + [m - D(G(z))]⁺`` (EBGAN eq. 1), averaged over the batch."""
    return real_energy.mean() + torch.clamp(margin - fake_energy, min=0).mean()


def pull_away_term(codes: Tensor) -> Tensor:
    """``1 / (N(N-1)) Σ_i Σ_{j≠i} (S_iᵀS_j / (||S_i|| ||S_j||))²`` (EBGAN eq. 5) of a batch of codes (N, F):
    0 for mutually orthogonal codes, 1 when all codes point the same way."""
    n = codes.shape[0]
    unit = F.normalize(codes.float().flatten(1), dim=1)
    cosine = unit @ unit.T  # (N, N)
    off_diagonal = ~torch.eye(n, dtype=torch.bool, device=codes.device)
    return cosine[off_diagonal].pow(2).sum() / (n * (n - 1))


def began_k_update(k: Tensor, real_loss: Tensor, fake_loss: Tensor, gamma: float, lambda_k: float) -> Tensor:
    """``k_{t+1} = clip(k_t + λ_k (γ L(x) - L(G(z))), 0, 1)`` (BEGAN eq. 4, the proportional control of k)."""
    return torch.clamp(k + lambda_k * (gamma * real_loss - fake_loss), 0.0, 1.0)


def began_convergence(real_loss: Tensor, fake_loss: Tensor, gamma: float) -> Tensor:
    """``M_global = L(x) + |γ L(x) - L(G(z))|`` (BEGAN §3.4.1): falls as training converges."""
    return real_loss + torch.abs(gamma * real_loss - fake_loss)
