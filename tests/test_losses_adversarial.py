"""The adversarial family's losses against hand-computed values and identities that can fail."""

import math

import pytest
import torch

from zoo.losses.critics import (
    cramer_critic,
    cramer_generator_loss,
    cramer_surrogate,
    dragan_penalty,
    gradient_norm_penalty,
    gradient_penalty,
    perturbed_reals,
    wasserstein_critic_loss,
    wasserstein_generator_loss,
)
from zoo.losses.energy_based import (
    began_convergence,
    began_k_update,
    ebgan_discriminator_loss,
    pull_away_term,
    reconstruction_energy,
)
from zoo.losses.fgan import (
    F_DIVERGENCES,
    f_divergence,
    fgan_discriminator_loss,
    fgan_divergence_estimate,
    fgan_generator_loss,
)
from zoo.losses.gan import (
    hinge_discriminator_loss,
    hinge_generator_loss,
    least_squares_discriminator_loss,
    least_squares_generator_loss,
    least_squares_log_density_ratio,
)
from zoo.losses.stabilisers import feature_matching_loss, historical_averaging_penalty

DIVERGENCES = list(F_DIVERGENCES)
# Two distributions on four points, in twentieths so that they can be written as finite samples.
P_COUNTS, Q_COUNTS = torch.tensor([2, 4, 6, 8]), torch.tensor([5, 5, 8, 2])
P, Q = P_COUNTS.double() / 20, Q_COUNTS.double() / 20
M = (P + Q) / 2


def _kl(a, b):
    return (a * torch.log(a / b)).sum().item()


CLOSED_FORMS = {  # D_f(P || Q) from the textbook definitions, not from f
    "kl": _kl(P, Q),
    "reverse_kl": _kl(Q, P),
    "jensen_shannon": _kl(P, M) + _kl(Q, M),  # = 2 JS(P, Q)
    "gan": _kl(P, M) + _kl(Q, M) - math.log(4),
    "pearson": ((P - Q) ** 2 / Q).sum().item(),
    "neyman": ((P - Q) ** 2 / P).sum().item(),
    "squared_hellinger": ((P.sqrt() - Q.sqrt()) ** 2).sum().item(),
    "total_variation": 0.5 * (P - Q).abs().sum().item(),
}


def _inverse_activation(name: str, t: torch.Tensor) -> torch.Tensor:
    """V with g_f(V) = t, written out by hand per divergence (total variation: ±1/2 needs V = ±∞, use ±40)."""
    inverses = {
        "kl": lambda t: t,
        "pearson": lambda t: t,
        "reverse_kl": lambda t: -torch.log(-t),
        "jensen_shannon": lambda t: -torch.log(2 * torch.exp(-t) - 1),
        "gan": lambda t: -torch.log(torch.exp(-t) - 1),
        "neyman": lambda t: -torch.log(1 - t),
        "squared_hellinger": lambda t: -torch.log(1 - t),
        "total_variation": lambda t: torch.atanh(torch.clamp(2 * t, -1 + 1e-15, 1 - 1e-15)),
    }
    return inverses[name](t)


@pytest.mark.parametrize("name", DIVERGENCES)
def test_f_is_convex_and_zero_at_one(name):
    d = f_divergence(name)
    at_one = -math.log(4) if name == "gan" else 0.0  # the GAN row is 2·JS - log 4, so f(1) = -log 4
    assert d.f(torch.tensor(1.0, dtype=torch.float64)).item() == pytest.approx(at_one, abs=1e-12)
    u = torch.linspace(0.05, 6, 200, dtype=torch.float64)
    assert (d.f(u[:-2]) + d.f(u[2:]) - 2 * d.f(u[1:-1]) >= -1e-12).all()  # midpoint convexity on the grid


@pytest.mark.parametrize("name", DIVERGENCES)
def test_fenchel_young_inequality_with_equality_at_the_derivative(name):
    d = f_divergence(name)
    u = torch.linspace(0.05, 8, 60, dtype=torch.float64)[:, None]
    t = d.activation(torch.linspace(-6, 6, 61, dtype=torch.float64))[None, :]  # points of dom f*
    assert (d.conjugate(t) >= u * t - d.f(u) - 1e-9).all()  # f*(t) >= u t - f(u)
    slope = d.derivative(u)
    torch.testing.assert_close(d.conjugate(slope), u * slope - d.f(u))  # equality at t = f'(u)


@pytest.mark.parametrize("name", DIVERGENCES)
def test_stable_conjugate_of_activation_matches_the_composition(name):
    d = f_divergence(name)
    v = torch.linspace(-4, 4, 81, dtype=torch.float64)
    torch.testing.assert_close(d.conjugate_of_activation(v), d.conjugate(d.activation(v)))
    wide = torch.linspace(-30, 30, 61)
    assert torch.isfinite(d.conjugate_of_activation(wide[wide.abs() < 10] if name == "kl" else wide)).all()


@pytest.mark.parametrize("name", DIVERGENCES)
def test_f_matches_the_textbook_divergence(name):
    d = f_divergence(name)
    assert (Q * d.f(P / Q)).sum().item() == pytest.approx(CLOSED_FORMS[name], rel=1e-9)


@pytest.mark.parametrize("name", DIVERGENCES)
def test_optimal_critic_recovers_the_divergence_and_others_stay_below(name):
    """With T*(x) = f'(p(x)/q(x)) the f-GAN losses give D_f(P || Q) exactly; any other critic gives less."""
    d = f_divergence(name)
    t_star = d.derivative(P / Q)
    v_star = _inverse_activation(name, t_star)
    real_v = torch.repeat_interleave(v_star, P_COUNTS)  # 20 samples of P
    fake_v = torch.repeat_interleave(v_star, Q_COUNTS)  # 20 samples of Q
    expected = CLOSED_FORMS[name]
    assert fgan_divergence_estimate(real_v.double(), fake_v.double(), d).item() == pytest.approx(expected, abs=1e-6)
    assert -fgan_discriminator_loss(real_v.double(), fake_v.double(), d).item() == pytest.approx(expected, abs=1e-6)
    generator = torch.Generator().manual_seed(0)
    for _ in range(50):
        v = v_star.clamp(-20, 20) + torch.randn(4, generator=generator, dtype=torch.float64)
        bound = (P * d.activation(v)).sum() - (Q * d.conjugate(d.activation(v))).sum()
        assert bound.item() <= expected + 1e-9


def test_fgan_generator_objectives_by_hand():
    d = f_divergence("pearson")  # g_f(v) = v, f*(t) = t²/4 + t
    fake_v = torch.tensor([[1.0], [-2.0]])
    assert fgan_generator_loss(fake_v, d, "saddle").item() == pytest.approx(-((0.25 + 1) + (1 - 2)) / 2)
    assert fgan_generator_loss(fake_v, d, "non_saturating").item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="saddle"):
        fgan_generator_loss(fake_v, d, "minimax")


def test_unknown_divergence_lists_the_table():
    with pytest.raises(ValueError, match="pearson"):
        f_divergence("chi2")
    assert set(DIVERGENCES) == {
        "kl", "reverse_kl", "jensen_shannon", "gan", "pearson", "neyman", "squared_hellinger", "total_variation",
    }


def test_wasserstein_losses_by_hand():
    real, fake = torch.tensor([[1.0], [3.0]]), torch.tensor([[0.5], [-0.5]])
    assert wasserstein_critic_loss(real, fake).item() == pytest.approx(0.0 - 2.0)
    assert wasserstein_generator_loss(fake).item() == pytest.approx(0.0)


def test_gradient_penalty_is_zero_for_unit_gradient_norm_critics():
    torch.manual_seed(0)
    real, fake = torch.randn(8, 1, 4, 4), torch.randn(8, 1, 4, 4)
    w = torch.randn(1, 1, 4, 4)
    unit = w / w.norm()
    linear = lambda x: (x * unit).sum((1, 2, 3))  # ∇ = unit everywhere
    distance = lambda x: (x - 5.0).flatten(1).norm(dim=1)  # ||∇|| = 1 away from the point 5
    assert gradient_penalty(linear, real, fake).item() == pytest.approx(0.0, abs=1e-10)
    assert gradient_penalty(distance, real, fake).item() == pytest.approx(0.0, abs=1e-10)


def test_gradient_penalty_by_hand_and_differentiable_in_the_critic():
    real, fake = torch.randn(8, 1, 4, 4), torch.randn(8, 1, 4, 4)
    direction = torch.randn(1, 1, 4, 4)
    scale = torch.tensor(3.0, requires_grad=True)
    critic = lambda x: scale * (x * direction / direction.norm()).sum((1, 2, 3))  # ||∇|| = 3
    penalty = gradient_penalty(critic, real, fake)
    assert penalty.item() == pytest.approx(4.0, rel=1e-5)  # (3 - 1)²
    (grad,) = torch.autograd.grad(penalty, scale)  # d/ds (s - 1)² = 2 (s - 1) = 4
    assert grad.item() == pytest.approx(4.0, rel=1e-5)


def test_gradient_norm_penalty_of_a_per_sample_quadratic():
    x = torch.tensor([[3.0, 4.0], [0.0, 0.5]], requires_grad=True)
    outputs = 0.5 * (x**2).sum(1)  # ∇ = x: norms 5 and 0.5
    assert gradient_norm_penalty(outputs, x).item() == pytest.approx((16 + 0.25) / 2, rel=1e-6)


def test_cramer_terms_by_hand():
    h_real, h_fake, h_fake2 = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    r2 = math.sqrt(2)
    assert cramer_critic(h_real, h_fake2).item() == pytest.approx(r2 - 1, abs=1e-5)
    assert cramer_critic(h_fake, h_fake2).item() == pytest.approx(1.0, abs=1e-5)
    assert cramer_surrogate(h_real, h_fake, h_fake2).item() == pytest.approx(r2 - 2, abs=1e-5)
    assert cramer_generator_loss(h_real, h_fake, h_fake2).item() == pytest.approx(1 + r2 - 1, abs=1e-5)


def test_cramer_generator_loss_vanishes_when_fake_codes_equal_real_ones():
    h_real, h_fake2 = torch.randn(16, 8), torch.randn(16, 8)
    assert cramer_generator_loss(h_real, h_real.clone(), h_fake2).item() == pytest.approx(0.0, abs=1e-5)
    assert cramer_generator_loss(h_real, torch.randn(16, 8), h_fake2).item() > 0.1


def test_reconstruction_energy_by_hand():
    target = torch.zeros(2, 1, 2, 2)
    recon = torch.tensor([[1.0, -1.0, 2.0, 0.0], [0.5, 0.5, 0.5, 0.5]]).view(2, 1, 2, 2)
    torch.testing.assert_close(reconstruction_energy(recon, target, "mse"), torch.tensor([1.5, 0.25]))
    torch.testing.assert_close(reconstruction_energy(recon, target, "l1"), torch.tensor([1.0, 0.5]))
    with pytest.raises(ValueError, match="l1"):
        reconstruction_energy(recon, target, "huber")


def test_ebgan_discriminator_loss_by_hand():
    real, fake = torch.tensor([0.1, 0.3]), torch.tensor([0.5, 2.0])
    assert ebgan_discriminator_loss(real, fake, margin=1.0).item() == pytest.approx(0.2 + (0.5 + 0.0) / 2)


def test_pull_away_term():
    assert pull_away_term(torch.eye(4) * 3).item() == pytest.approx(0.0)  # orthogonal codes
    assert pull_away_term(torch.ones(5, 3)).item() == pytest.approx(1.0, abs=1e-6)  # one direction
    sixty_degrees = torch.tensor([[1.0, 0.0], [0.5, math.sqrt(3) / 2]])  # cos = 1/2
    assert pull_away_term(sixty_degrees).item() == pytest.approx(0.25, abs=1e-6)


def test_began_k_update_and_convergence_by_hand():
    k = torch.tensor(0.5)
    real, fake = torch.tensor(0.2), torch.tensor(0.05)
    assert began_k_update(k, real, fake, gamma=0.5, lambda_k=0.001).item() == pytest.approx(0.5 + 0.001 * 0.05)
    assert began_convergence(real, fake, gamma=0.5).item() == pytest.approx(0.25)


def test_began_k_stays_in_the_unit_interval():
    k = torch.tensor(0.0)
    for real, fake in [(10.0, 0.0), (10.0, 0.0), (0.0, 50.0), (3.0, 1.0)]:
        k = began_k_update(k, torch.tensor(real), torch.tensor(fake), gamma=0.5, lambda_k=0.3)
        assert 0.0 <= k.item() <= 1.0
    assert began_k_update(torch.tensor(0.9), torch.tensor(10.0), torch.tensor(0.0), 0.5, 0.3).item() == 1.0
    assert began_k_update(torch.tensor(0.1), torch.tensor(0.0), torch.tensor(10.0), 0.5, 0.3).item() == 0.0


def test_feature_matching_and_historical_averaging_by_hand():
    real = torch.tensor([[1.0, 2.0], [3.0, 4.0]])  # mean (2, 3)
    fake = torch.tensor([[0.0, 0.0], [2.0, 2.0]])  # mean (1, 1)
    assert feature_matching_loss(real, fake).item() == pytest.approx(1 + 4)
    params, averages = [torch.tensor([1.0, 2.0]), torch.tensor([[3.0]])], [torch.zeros(2), torch.tensor([[1.0]])]
    assert historical_averaging_penalty(params, averages).item() == pytest.approx(1 + 4 + 4)


# --- hinge and least-squares GAN losses (Miyato et al. 2018; Mao et al. 2017) ------------------------------------


def test_hinge_losses_by_hand():
    real, fake = torch.tensor([[2.0], [0.5], [-1.0]]), torch.tensor([[-3.0], [0.0], [1.5]])
    # relu(1 - d(x)): 0, 0.5, 2; relu(1 + d(G(z))): 0, 1, 2.5
    assert hinge_discriminator_loss(real, fake).item() == pytest.approx(2.5 / 3 + 3.5 / 3)
    assert hinge_generator_loss(fake).item() == pytest.approx(-(-3.0 + 0.0 + 1.5) / 3)
    assert hinge_discriminator_loss(real.bfloat16(), fake.bfloat16()).dtype == torch.float32


@pytest.mark.parametrize("a, b, c", [(0.0, 1.0, 1.0), (-1.0, 1.0, 0.0)])
def test_least_squares_losses_by_hand(a, b, c):
    real, fake = torch.tensor([[1.0], [0.0]]), torch.tensor([[0.5], [-1.0]])
    expected_d = 0.5 * ((1 - b) ** 2 + (0 - b) ** 2) / 2 + 0.5 * ((0.5 - a) ** 2 + (-1 - a) ** 2) / 2
    assert least_squares_discriminator_loss(real, fake, a, b).item() == pytest.approx(expected_d)
    assert least_squares_generator_loss(fake, c).item() == pytest.approx(0.5 * ((0.5 - c) ** 2 + (-1 - c) ** 2) / 2)


def _optimal_free_discriminator(loss, steps: int, lr: float) -> torch.Tensor:
    """Minimise ``loss(D(real), D(fake))`` over a free value of D per point of the four-point toy (P and Q above, as
    20 samples each) by plain gradient steps from D = 0."""
    d = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([d], lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss(torch.repeat_interleave(d, P_COUNTS)[:, None], torch.repeat_interleave(d, Q_COUNTS)[:, None]).backward()
        optimizer.step()
    return d.detach()


def test_hinge_optimum_is_the_sign_of_p_minus_q():
    """Pointwise p·relu(1 - d) + q·relu(1 + d) is linear on [-1, 1] with slope q - p: D* = sign(p - q)."""
    d = _optimal_free_discriminator(hinge_discriminator_loss, steps=400, lr=0.05)
    torch.testing.assert_close(d, torch.sign(P - Q), atol=0.05, rtol=0)  # P - Q = (-0.15, -0.05, 0.1, 0.3)


@pytest.mark.parametrize("a, b", [(0.0, 1.0), (-1.0, 1.0), (-2.0, 3.0)])
def test_least_squares_optimum_is_the_weighted_mean_of_the_targets_and_inverts_to_p_over_q(a, b):
    """Pointwise p (d - b)² + q (d - a)² is smallest at D* = (b p + a q)/(p + q) (Mao et al. §3.2), and the ratio the
    samplers read from it is p/q."""
    d = _optimal_free_discriminator(lambda r, f: least_squares_discriminator_loss(r, f, a, b), steps=300, lr=1.0)
    optimum = (b * P + a * Q) / (P + Q)
    torch.testing.assert_close(d, optimum, atol=1e-6, rtol=0)
    torch.testing.assert_close(least_squares_log_density_ratio(optimum, a, b).double(), torch.log(P / Q),
                               atol=1e-6, rtol=0)


def test_least_squares_ratio_has_no_value_outside_a_to_b_and_a_finite_gradient_inside():
    scores = torch.tensor([-0.5, 0.0, 0.25, 0.5, 1.0, 1.5], requires_grad=True)
    ratio = least_squares_log_density_ratio(scores, a=0.0, b=1.0)
    assert ratio[[0, 1, 4, 5]].isnan().all()  # D* = p/(p + q) lies strictly inside (0, 1)
    torch.testing.assert_close(ratio[2:4].detach(), torch.tensor([math.log(1 / 3), 0.0]))
    ratio[2:4].sum().backward()
    assert scores.grad.isfinite().all()


# --- DRAGAN's penalty (Kodali et al. 2017) -------------------------------------------------------------------------


def test_perturbed_reals_lie_in_the_data_neighbourhood_of_the_reference_code():
    """x̂ = x + α·0.5·std(x)·u: each pixel moved up by at most 0.5·std(x), by a per-image fraction α ~ U[0, 1]."""
    torch.manual_seed(0)
    real = torch.randn(2000, 1, 8, 8).bfloat16()
    x_hat = perturbed_reals(real)
    assert x_hat.dtype == torch.float32 and x_hat.requires_grad and x_hat.shape == real.shape
    step = (x_hat.detach() - real.float()) / (0.5 * real.float().std())  # α·u per pixel
    assert step.min() >= 0 and step.max() <= 1
    alpha = step.flatten(1).max(1).values  # the largest of 64 u's is near 1: about α per image
    assert alpha.mean().item() == pytest.approx(0.5, abs=0.03) and alpha.std().item() == pytest.approx(0.29, abs=0.03)


def test_dragan_penalty_is_zero_for_a_unit_norm_linear_discriminator():
    torch.manual_seed(0)
    w = torch.randn(1, 1, 4, 4)
    linear = lambda x: (x * w / w.norm()).sum((1, 2, 3))  # ∇ = w/||w|| everywhere
    assert dragan_penalty(linear, torch.randn(8, 1, 4, 4)).item() == pytest.approx(0.0, abs=1e-10)


def test_dragan_penalty_and_its_gradient_for_a_quadratic_discriminator():
    """D(x) = s·||x||²/2 has ∇D(x̂) = s·x̂: the penalty is E[(s||x̂|| - 1)²], its derivative in s
    E[2 (s||x̂|| - 1) ||x̂||], both at the perturbed points the penalty draws."""
    real = torch.randn(8, 1, 4, 4)
    scale = torch.tensor(0.7, requires_grad=True)
    torch.manual_seed(1)
    penalty = dragan_penalty(lambda x: scale * 0.5 * x.pow(2).sum((1, 2, 3)), real)
    torch.manual_seed(1)
    norms = perturbed_reals(real).detach().flatten(1).norm(dim=1)
    assert penalty.item() == pytest.approx((0.7 * norms - 1).pow(2).mean().item(), rel=1e-5)
    (grad,) = torch.autograd.grad(penalty, scale)
    assert grad.item() == pytest.approx((2 * (0.7 * norms - 1) * norms).mean().item(), rel=1e-5)
