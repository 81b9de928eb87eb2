"""Samplers: interpolation endpoints, DRS with a perfect discriminator, DDLS invariance, neighbours."""

import math

import torch

import zoo
from tests.conftest import ks_distance_to_normal
from zoo.sampling.langevin import latent_langevin
from zoo.sampling.latent import interpolation_strips, lerp, slerp
from zoo.sampling.neighbours import nearest_neighbours
from zoo.sampling.rejection import DiscriminatorRejectionSampler


def test_slerp_and_lerp_endpoints_equal_the_inputs_and_slerp_keeps_the_radius():
    torch.manual_seed(0)
    a, b = torch.randn(5, 16), torch.randn(5, 16)
    for path in (slerp(a, b, torch.linspace(0, 1, 7)), lerp(a, b, torch.linspace(0, 1, 7))):
        torch.testing.assert_close(path[:, 0], a)
        torch.testing.assert_close(path[:, -1], b)
    b = b / b.norm(dim=1, keepdim=True) * a.norm(dim=1, keepdim=True)
    radii = slerp(a, b, torch.linspace(0, 1, 9)).norm(dim=2)
    torch.testing.assert_close(radii, a.norm(dim=1, keepdim=True).expand_as(radii))


def test_interpolation_strips_run_through_a_model():
    images = interpolation_strips(zoo.create("gan", image_shape=(1, 28, 28)), rows=2, steps=5)
    assert images.shape == (10, 1, 28, 28)


def test_drs_with_a_perfect_discriminator_recovers_the_target():
    """Target N(0, 1), generator N(0, 2²); the perfect logit is log p_data/p_g. With gamma = 0, DRS is exact
    rejection sampling: the accepted samples pass a KS test against N(0, 1) that the proposals fail."""
    generator = torch.Generator().manual_seed(0)

    def propose(n):
        return 2 * torch.randn(n, generator=generator)

    def logit(x):
        return torch.distributions.Normal(0, 1).log_prob(x) - torch.distributions.Normal(0, 2).log_prob(x)

    sampler = DiscriminatorRejectionSampler(propose, logit, burn_in=20_000, gamma_quantile=None)
    accepted = sampler.sample(5000, torch.Generator().manual_seed(1))
    critical = 1.95 / math.sqrt(5000)  # alpha = 0.001
    assert ks_distance_to_normal(accepted) < critical
    assert ks_distance_to_normal(propose(5000)) > 5 * critical
    assert 0.4 < sampler.acceptance_rate < 0.6  # exact rejection sampling accepts 1/M = 1/2 here


def test_drs_gamma_quantile_trades_exactness_for_acceptance():
    """A low quantile of F as gamma accepts more than exact rejection sampling, a high one fewer."""
    rates = {}
    for quantile in (0.05, None, 0.95):
        generator = torch.Generator().manual_seed(0)
        sampler = DiscriminatorRejectionSampler(lambda n: 2 * torch.randn(n, generator=generator),
                                                lambda x: -0.375 * x**2 + math.log(2), burn_in=10_000,
                                                gamma_quantile=quantile)
        sampler.sample(2000)
        rates[quantile] = sampler.acceptance_rate
    assert rates[0.05] > rates[None] + 0.2 and rates[0.95] < rates[None] - 0.2


def test_ddls_with_a_zero_discriminator_leaves_the_prior_invariant():
    torch.manual_seed(0)
    z = latent_langevin(torch.randn(20_000, 2), None, steps=100, step_size=0.01).z
    assert z.mean(0).abs().max() < 0.03
    assert (z.var(0) - 1).abs().max() < 0.05


def test_ddls_follows_the_discriminator():
    """d(G(z)) = 1.5 · z₁ makes the energy's minimum, and the stationary mean, (1.5, 0)."""
    torch.manual_seed(0)
    z = latent_langevin(torch.randn(5000, 2), lambda z: 1.5 * z[:, 0], steps=400, step_size=0.05).z
    torch.testing.assert_close(z.mean(0), torch.tensor([1.5, 0.0]), atol=0.08, rtol=0)


def test_nearest_neighbours_find_the_copied_training_image():
    torch.manual_seed(0)
    training = torch.rand(3000, 1, 8, 8)
    samples = training[[5, 2500]] + 0.01 * torch.randn(2, 1, 8, 8)
    assert nearest_neighbours(samples, training, k=3)[:, 0].tolist() == [5, 2500]
