"""Latent-space losses and priors of the autoencoding family, against properties that can fail."""

import math

import pytest
import torch

from zoo.core.priors import MixtureOfGaussians, StandardGaussian
from zoo.losses.mmd import mmd_imq, squared_distances
from zoo.losses.reconstruction import corrupt, reconstruction_cost
from zoo.losses.variational import categorical_kl_uniform, gumbel_softmax
from zoo.sampling.manifold import gaussian_quantile_grid


def test_mmd_is_near_zero_for_one_distribution_and_clearly_positive_for_shifted_ones():
    torch.manual_seed(0)
    same = [mmd_imq(torch.randn(256, 8), torch.randn(256, 8)).item() for _ in range(5)]
    shifted = mmd_imq(torch.randn(256, 8), torch.randn(256, 8) + 1.0).item()
    assert max(abs(v) for v in same) < 0.02, same
    assert shifted > 0.2 > 10 * max(abs(v) for v in same), (shifted, same)
    # The unbiased estimate is not forced to be >= 0: its mean over draws of one distribution is ~0.
    assert abs(sum(same) / len(same)) < 0.01


def test_mmd_kernel_by_hand_for_two_points_each():
    x, y = torch.tensor([[0.0], [1.0]]), torch.tensor([[0.0], [3.0]])
    c = 2 * 1 * 1.0 * 1.0  # 2·d·σ²·s with one scale s = 1
    k = lambda d2: c / (c + d2)  # noqa: E731
    expected = k(1.0) + k(9.0) - 2 * (k(0.0) + k(9.0) + k(1.0) + k(4.0)) / 4
    assert mmd_imq(x, y, scales=(1.0,)).item() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="at least 2"):
        mmd_imq(x[:1], y)


def test_mmd_gradient_is_finite_at_coincident_points():
    x = torch.zeros(4, 3, requires_grad=True)  # every pairwise distance is exactly 0
    mmd_imq(x, torch.randn(4, 3)).backward()
    assert torch.isfinite(x.grad).all()
    assert squared_distances(torch.ones(2, 2), torch.ones(3, 2)).eq(0).all()


def test_gumbel_softmax_tends_to_one_hot_as_temperature_falls():
    torch.manual_seed(0)
    logits = torch.randn(512, 10)
    max_prob = {tau: gumbel_softmax(logits, tau).max(-1).values.mean().item() for tau in (5.0, 1.0, 0.1, 0.01)}
    assert max_prob[5.0] < max_prob[1.0] < max_prob[0.1] < max_prob[0.01], max_prob
    assert max_prob[0.01] > 0.99
    sample = gumbel_softmax(logits, 1.0)
    torch.testing.assert_close(sample.sum(-1), torch.ones(512))


def test_gumbel_max_samples_follow_the_categorical():
    torch.manual_seed(0)
    probs = torch.tensor([0.6, 0.3, 0.1])
    draws = gumbel_softmax(probs.log().expand(20_000, 3), 0.01, hard=True)
    torch.testing.assert_close(draws.mean(0), probs, atol=0.015, rtol=0)


def test_straight_through_sample_is_one_hot_with_a_non_zero_gradient():
    torch.manual_seed(0)
    logits = torch.randn(8, 4, 5, requires_grad=True)
    hard = gumbel_softmax(logits, 0.5, hard=True)
    assert set(hard.detach().unique().tolist()) == {0.0, 1.0} and hard.detach().sum(-1).eq(1).all()
    weights = torch.randn(5)
    (hard * weights).sum().backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0


def test_categorical_kl_to_uniform():
    assert categorical_kl_uniform(torch.zeros(3, 4, 6)).abs().max().item() < 1e-6  # uniform logits: KL = 0
    assert categorical_kl_uniform(torch.full((2, 3, 5), 7.0)).abs().max().item() < 1e-6  # any constant logits
    logits = torch.tensor([[[2.0, 0.0, -1.0]]])
    q = torch.softmax(logits, -1)
    expected = (q * (q.log() + math.log(3))).sum().item()
    assert categorical_kl_uniform(logits).item() == pytest.approx(expected, rel=1e-6)
    one_hot_like = torch.tensor([[[50.0, 0.0, 0.0], [0.0, 50.0, 0.0]]])  # two near-deterministic variables
    assert categorical_kl_uniform(one_hot_like).item() == pytest.approx(2 * math.log(3), rel=1e-4)


def test_mixture_prior_has_the_stated_component_means():
    prior = MixtureOfGaussians(latent_dim=2, components=10, radius=4.0, std=0.5)
    angles = torch.arange(10) * (2 * math.pi / 10)
    stated = torch.stack([4.0 * torch.cos(angles), 4.0 * torch.sin(angles)], dim=1)
    torch.testing.assert_close(prior.means, stated)
    z = prior.sample(20_000, torch.Generator().manual_seed(0))
    nearest = squared_distances(z, stated).argmin(1)  # components are 2.5 apart, 5 std: assignment is reliable
    counts = torch.bincount(nearest, minlength=10)
    assert counts.min() > 1700, counts  # equal weights: ~2000 each
    for k in range(10):
        members = z[nearest == k]
        torch.testing.assert_close(members.mean(0), stated[k], atol=0.05, rtol=0)
        assert members.std(0).sub(0.5).abs().max() < 0.05


def test_mixture_prior_in_more_dimensions_puts_the_circle_in_the_first_two():
    prior = MixtureOfGaussians(latent_dim=5, components=4, radius=2.0, std=0.1)
    assert prior.means[:, 2:].eq(0).all()
    torch.testing.assert_close(prior.means[:, :2].norm(dim=1), torch.full((4,), 2.0))
    z = prior.sample(1000, torch.Generator().manual_seed(0))
    assert z.shape == (1000, 5) and z[:, 2:].std() < 0.15


def test_priors_are_reproducible_with_a_generator():
    for prior in (StandardGaussian(3), MixtureOfGaussians(3)):
        first = prior.sample(5, torch.Generator().manual_seed(1))
        assert torch.equal(first, prior.sample(5, torch.Generator().manual_seed(1)))


@pytest.mark.parametrize("kind", ["gaussian", "masking", "salt_and_pepper"])
def test_corruption_stays_in_range_and_hits_the_stated_fraction(kind):
    torch.manual_seed(0)
    x = torch.zeros(64, 1, 28, 28)  # grey: every changed pixel is visible
    noisy = corrupt(x, kind, 0.3)
    assert noisy.min() >= -1 and noisy.max() <= 1
    changed = (noisy != x).float().mean().item()
    if kind == "gaussian":
        assert changed > 0.99 and noisy.std().item() == pytest.approx(0.3, rel=0.05)
    else:
        assert changed == pytest.approx(0.3, abs=0.01)
    if kind == "masking":
        assert noisy[noisy != x].eq(-1).all()
    if kind == "salt_and_pepper":
        flipped = noisy[noisy != x]
        assert flipped.abs().eq(1).all() and flipped.mean().abs() < 0.05
    with pytest.raises(ValueError, match="noise"):
        corrupt(x, "blur", 0.3)


def test_reconstruction_costs_by_hand():
    target = torch.tensor([[[[0.0, 1.0]]]])
    decoded = torch.tensor([[[[0.0, 0.0]]]])  # sigmoid -> 0.5 everywhere
    assert reconstruction_cost(decoded, target, "bernoulli").item() == pytest.approx(2 * math.log(2))
    assert reconstruction_cost(decoded, target, "squared").item() == pytest.approx(0.5)
    assert reconstruction_cost(decoded, target, "l1").item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="reconstruction cost"):
        reconstruction_cost(decoded, target, "ssim")


def test_quantile_grid_spans_the_prior_symmetrically():
    grid = gaussian_quantile_grid(5, 0.05, 0.95)
    assert grid.shape == (25, 2)
    assert grid[0, 0].item() == pytest.approx(-1.6449, abs=1e-3) and grid[0, 1].item() == pytest.approx(1.6449, abs=1e-3)
    assert grid[12].abs().max() < 1e-6  # the centre is z = 0
    torch.testing.assert_close(grid[:5, 1], grid[0, 1].expand(5))  # a row shares z₂; z₁ grows along it
    assert (grid[1:5, 0] > grid[:4, 0]).all()
