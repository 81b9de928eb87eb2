"""Loss functions against values computed by hand or identities that can fail."""

import math

import pytest
import torch

from zoo.losses.gan import discriminator_accuracy, gan_discriminator_loss, gan_generator_loss
from zoo.losses.variational import bernoulli_nll, gaussian_kl, gaussian_nll, reparameterize


def test_discriminator_loss_at_chance_is_2_log_2():
    zeros = torch.zeros(5, 1)  # D = 1/2 everywhere
    assert gan_discriminator_loss(zeros, zeros).item() == pytest.approx(2 * math.log(2))


def test_discriminator_loss_by_hand_with_label_smoothing():
    real, fake = torch.tensor([[2.0]]), torch.tensor([[-1.0]])
    d_real, d_fake = torch.sigmoid(real).item(), torch.sigmoid(fake).item()
    expected = -(0.9 * math.log(d_real) + 0.1 * math.log(1 - d_real)) - math.log(1 - d_fake)
    assert gan_discriminator_loss(real, fake, real_label=0.9).item() == pytest.approx(expected, rel=1e-6)


def test_generator_losses_by_hand():
    logits = torch.tensor([[0.5], [-2.0]])
    d = torch.sigmoid(logits)
    assert gan_generator_loss(logits, "minimax").item() == pytest.approx(torch.log(1 - d).mean().item(), rel=1e-6)
    assert gan_generator_loss(logits, "non_saturating").item() == pytest.approx(-torch.log(d).mean().item(), rel=1e-6)
    with pytest.raises(ValueError, match="minimax"):
        gan_generator_loss(logits, "wasserstein")


def test_minimax_gradient_saturates_where_non_saturating_does_not():
    logits = torch.tensor([[-8.0]], requires_grad=True)  # D confidently rejects the sample
    (g_minimax,) = torch.autograd.grad(gan_generator_loss(logits, "minimax"), logits)
    (g_non_sat,) = torch.autograd.grad(gan_generator_loss(logits, "non_saturating"), logits)
    assert abs(g_minimax.item()) < 1e-3 < abs(g_non_sat.item())


def test_discriminator_accuracy():
    real, fake = torch.tensor([1.0, -1.0, 2.0]), torch.tensor([-1.0, -3.0, 0.5])
    assert discriminator_accuracy(real, fake).item() == pytest.approx(4 / 6)


def test_gaussian_kl_closed_form_matches_monte_carlo():
    torch.manual_seed(0)
    mu, logvar = torch.tensor([[0.7, -1.2]]), torch.tensor([[-0.5, 0.8]])
    z = reparameterize(mu.expand(200_000, 2), logvar.expand(200_000, 2))
    std = torch.exp(0.5 * logvar)
    log_q = torch.distributions.Normal(mu, std).log_prob(z).sum(1)
    log_p = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(1)
    assert gaussian_kl(mu, logvar).item() == pytest.approx((log_q - log_p).mean().item(), abs=0.02)
    assert gaussian_kl(torch.zeros(1, 3), torch.zeros(1, 3)).item() == 0.0


def test_likelihoods_match_torch_distributions():
    torch.manual_seed(0)
    logits, target = torch.randn(2, 1, 3, 3), torch.rand(2, 1, 3, 3).round()
    expected = -torch.distributions.Bernoulli(logits=logits).log_prob(target).flatten(1).sum(1)
    torch.testing.assert_close(bernoulli_nll(logits, target), expected)
    mean, log_std = torch.rand(2, 1, 3, 3), torch.tensor([-1.5])
    expected = -torch.distributions.Normal(mean, log_std.exp()).log_prob(target).flatten(1).sum(1)
    torch.testing.assert_close(gaussian_nll(mean, log_std, target), expected)
