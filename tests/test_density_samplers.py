"""What each model's discriminator estimates, and DRS/DDLS using only that.

Registry-driven: every registered model declares the samplers its discriminator serves, and the others are refused
with one message. For each declared quantity, a low-dimensional problem with a known density ratio: a discriminator
trained with the model's own loss (or set) to its optimum gives back log p/q through the hook.
"""

import math
import re
from pathlib import Path

import pytest
import torch
from torch import nn

import zoo
from tests.conftest import ks_distance_to_normal
from zoo.core.adversarial import AdversarialModel, AdversarialTechniques
from zoo.losses.fgan import F_DIVERGENCES
from zoo.losses.gan import logistic_log_density_ratio
from zoo.sampling.langevin import STEPS, ddls, ddls_sample, latent_langevin
from zoo.sampling.modes import SamplerNotApplicable, SamplerWarning, applicable_modes
from zoo.sampling.rejection import DiscriminatorRejectionSampler, drs_for_model

MODELS = [entry.name for entry in zoo.list_models()]
# their discriminators estimate log p_data/p_g (LSGAN's by its least-squares optimum, DRAGAN's approximately)
LOGISTIC = {"gan", "dcgan", "fgan", "vaegan", "alpha_gan", "lsgan", "dragan"}
CRITICS = {"wgan", "wgangp", "cramergan"}  # a Wasserstein-type critic: an energy for DDLS, no ratio
LOGISTIC_CODES = {"infogan"}  # a logistic D's ratio for DRS; DDLS refused: categorical codes are no Gaussian latent
RANGED = {"lsgan"}  # a ratio only for scores in (a, b), NaN elsewhere (an untrained D gives some)
PER_CLASS = {"cgan"}  # D(x, y) estimates log p_data(x | y)/p_g(x | y): both samplers, one class at a time


@pytest.mark.parametrize("name", MODELS)
def test_every_model_declares_its_samplers_and_refuses_the_others_naming_what_applies(name):
    model = zoo.create(name, image_shape=(1, 28, 28))
    if name in RANGED:  # an untrained D may score every sample outside (a, b): bring its scores near (a + b)/2
        a, b, _ = model.least_squares_coding
        with torch.no_grad():
            model.discriminator.head.weight.mul_(0.01)
            model.discriminator.head.bias.fill_((a + b) / 2)
    expected = ({"drs", "ddls"} if name in LOGISTIC | PER_CLASS else {"drs"} if name in LOGISTIC_CODES
                else {"ddls"} if name in CRITICS else set())
    assert set(model.density_samplers()) == expected
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    label = torch.tensor(3) if model.conditional else None  # a conditional model samples one class at a time
    condition = (torch.tensor([3, 3, 3]),) if model.conditional else ()
    for sampler, run, hook in (("drs", lambda: drs_for_model(model, burn_in=16, batch_size=16, label=label).sample(2),
                                model.log_density_ratio),
                               ("ddls", lambda: ddls_sample(model, 2, steps=2), model.energy)):
        if sampler in expected:
            assert hook(x, *condition).shape == (3,) and torch.isfinite(hook(x, *condition)).all()
            assert run().shape[0] == 2
            continue
        for attempt in (run, lambda: hook(x, *condition)):
            with pytest.raises(SamplerNotApplicable) as error:
                attempt()
            message = str(error.value)
            assert f"{sampler.upper()} does not apply to {type(model).__name__}" in message
            assert "samplers that apply" in message and "plain" in message and sampler not in message.split(": ")[-1]


def test_fgan_total_variation_is_refused_by_name():
    model = zoo.create("fgan", image_shape=(1, 28, 28), divergence="total_variation")
    assert model.density_samplers() == ()
    for run in (lambda: drs_for_model(model), lambda: ddls_sample(model, 2)):
        with pytest.raises(SamplerNotApplicable, match="total_variation.*cannot be inverted"):
            run()


@pytest.mark.parametrize("name", ["sngan", "dcgan"])
def test_hinge_loss_is_refused_by_both_samplers_naming_its_optimum(name):
    """The hinge optimum D* = sign(p_data - p_g) says where the data is denser, not by how much: no ratio, no
    energy, whichever model plays the hinge game."""
    model = zoo.create(name, image_shape=(1, 28, 28), loss="hinge")
    assert model.density_samplers() == () and "drs" not in applicable_modes(model)
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    for run in (lambda: drs_for_model(model), lambda: ddls_sample(model, 2), lambda: model.log_density_ratio(x),
                lambda: model.energy(x)):
        with pytest.raises(SamplerNotApplicable, match=r"hinge loss, D\* = sign\(p_data - p_g\).*not by how much"):
            run()
    # the refusal follows the loss, not the class: an SN-GAN with the logistic or least-squares loss has a ratio
    for loss in ("logistic", "least_squares"):
        assert zoo.create("sngan", image_shape=(1, 28, 28), loss=loss).density_samplers() == ("drs", "ddls")


def _hooks(model) -> list:
    return [{"drs": model.log_density_ratio, "ddls": model.energy}[s] for s in model.density_samplers()]


@pytest.mark.parametrize("name", MODELS)
def test_every_ratio_and_energy_a_sampler_reads_scores_an_image_the_same_alone_and_in_any_batch(name):
    """What DRS and DDLS read is a function of one image: in eval mode (as the samplers call it) the same image
    scores the same alone, in its batch and inside a larger batch of other images."""
    torch.manual_seed(0)
    model = zoo.create(name, image_shape=(1, 28, 28)).eval()
    x, others = torch.rand(5, 1, 28, 28) * 2 - 1, torch.rand(27, 1, 28, 28) * 2 - 1
    labels = torch.arange(32) % 10 if model.conditional else None  # a conditional D reads each image's own label

    def score(hook, images, at=slice(None)):
        return hook(images) if labels is None else hook(images, labels[at])

    for hook in _hooks(model):
        with torch.no_grad():
            batch = score(hook, x, slice(11, 16))
            alone = torch.cat([score(hook, image[None], slice(11 + i, 12 + i)) for i, image in enumerate(x)])
            mixed = score(hook, torch.cat([others[:11], x, others[11:]]))[11:16]
        # equal_nan: where a ratio does not exist (RANGED), it does not in any batch either
        torch.testing.assert_close(alone, batch, atol=1e-5, rtol=1e-5, equal_nan=name in RANGED)
        torch.testing.assert_close(mixed, batch, atol=1e-5, rtol=1e-5, equal_nan=name in RANGED)


@pytest.mark.parametrize("name", [e.name for e in zoo.list_models() if issubclass(e.cls, AdversarialModel)])
def test_minibatch_discrimination_makes_the_score_batch_dependent_so_both_samplers_refuse(name):
    torch.manual_seed(0)
    if not zoo.create(name, image_shape=(1, 28, 28)).density_samplers():
        pytest.skip(f"{name}'s discriminator serves no sampler in the first place")
    if name in PER_CLASS:
        pytest.skip(f"{name} refuses minibatch discrimination when built: it reads D's features without the labels")
    model = zoo.create(name, image_shape=(1, 28, 28), techniques=AdversarialTechniques(minibatch_kernels=8)).eval()
    torch.nn.init.constant_(model.discriminator.minibatch_head.weight, 0.05)
    x = torch.rand(16, 1, 28, 28) * 2 - 1
    with torch.no_grad():  # why: the raw output for one image changes with the batch it is scored in
        assert (model.discriminator(x[:1]) - model.discriminator(x)[:1]).abs().max() > 1e-2
    assert "drs" not in applicable_modes(model) and "ddls" not in applicable_modes(model)
    for run in (lambda: drs_for_model(model, burn_in=16, batch_size=16), lambda: ddls_sample(model, 2, steps=2)):
        with pytest.raises(SamplerNotApplicable, match="minibatch discrimination: its output for one image depends"):
            run()


def test_samplers_propose_from_the_generator_the_discriminator_was_trained_against_not_its_ema():
    """D's ratio is p_data/p_G for the raw G it was trained against; the EMA is another distribution."""
    model = zoo.create("gan", image_shape=(1, 28, 28), techniques=AdversarialTechniques(ema_decay=0.9)).eval()
    with torch.no_grad():
        for parameter in model.generator_ema.parameters():
            parameter.add_(0.5)
        z = model.sample_latent(4)
        raw = torch.tanh(model.generator(z))
        torch.testing.assert_close(model.proposal(z), raw)
        assert (model.generate(z) - raw).abs().max() > 0.1  # sample() keeps using the EMA
        sampler = drs_for_model(model, burn_in=16, batch_size=16)
        torch.manual_seed(3)
        proposed = sampler.propose(4)
        torch.manual_seed(3)
        torch.testing.assert_close(proposed, torch.tanh(model.generator(model.sample_latent(4))))
    images, run = ddls(model, 3, steps=2)
    torch.testing.assert_close(images, (torch.tanh(model.generator(run.z)).detach() + 1) / 2)


@pytest.mark.parametrize("name", [n for n in F_DIVERGENCES if n != "total_variation"])
def test_f_divergence_log_ratio_inverts_the_optimal_critic_relation(name):
    """``f'(exp(log_ratio(v))) = g_f(v)``: the inverse really inverts T*(x) = f'(p/q)."""
    divergence = F_DIVERGENCES[name]
    v = torch.linspace(-1.9, 3.0, 50, dtype=torch.double)  # Pearson's T = v needs v > -2 (u = 1 + v/2 > 0)
    torch.testing.assert_close(divergence.derivative(torch.exp(divergence.log_ratio(v))), divergence.activation(v))


# --- discrete toys: categories 0..3 as one-hot "images" (1, 1, 4), p and q known exactly -------------------------

P = torch.tensor([0.1, 0.2, 0.3, 0.4])
Q = torch.tensor([0.4, 0.3, 0.2, 0.1])
ONE_HOT = torch.eye(4).view(4, 1, 1, 4)


def _batch(probabilities: torch.Tensor, size: int = 100) -> torch.Tensor:
    """A batch whose empirical distribution is ``probabilities`` exactly (one-hot images (size, 1, 1, 4))."""
    counts = (probabilities * size).round().long()
    return torch.cat([ONE_HOT[i].expand(int(c), 1, 1, 4) for i, c in enumerate(counts)])


def _table(image_shape, out_features):
    """A discriminator that is a free value per category: the optimum is reachable exactly."""
    return nn.Sequential(nn.Flatten(), nn.Linear(math.prod(image_shape), out_features))


def _linear(in_features, out_features):
    return nn.Sequential(nn.Flatten(), nn.Linear(in_features, math.prod(out_features)))


def _fit_discriminator(model, real: torch.Tensor, shared: dict, steps: int = 200) -> None:
    """Minimise the model's own discriminator loss over D's parameters (LBFGS; the toy's loss is convex)."""
    optimizer = torch.optim.LBFGS(model.discriminator.parameters(), max_iter=steps, line_search_fn="strong_wolfe",
                                  tolerance_grad=1e-10, tolerance_change=1e-12)

    def closure():
        optimizer.zero_grad()
        loss = model.discriminator_loss(real, shared)["loss"]
        loss.backward()
        return loss

    optimizer.step(closure)


def _toy_model(name: str, **kwargs):
    factories = {"discriminator": _table}
    if name in ("vaegan", "alpha_gan"):
        factories.update(encoder=_table, **{"decoder" if name == "vaegan" else "generator": _linear})
    else:
        factories["generator"] = _linear
    model = zoo.create(name, image_shape=(1, 1, 4), latent_dim=4, **factories, **kwargs)
    model.generate = lambda z: z.view(-1, 1, 1, 4)  # latents are the model's one-hot images, drawn from q
    return model


LEAST_SQUARES_CODINGS = [(0.0, 1.0, 1.0), (-1.0, 1.0, 0.0), (-2.0, 3.0, 3.0)]
TOYS = [("gan", {}), ("gan", {"real_label": 0.9}), ("vaegan", {}), ("alpha_gan", {})] + [
    ("lsgan", {"least_squares_coding": coding}) for coding in LEAST_SQUARES_CODINGS] + [
    ("fgan", {"divergence": name}) for name in F_DIVERGENCES if name != "total_variation"
]


@pytest.mark.parametrize(("name", "kwargs"), TOYS, ids=[f"{n}-{'-'.join(map(str, k.values()))}" for n, k in TOYS])
def test_optimal_discriminator_gives_back_log_p_over_q_through_the_hook(name, kwargs):
    model = _toy_model(name, **kwargs)
    real, fake, fake2 = _batch(P), _batch(Q), _batch(Q)
    shared = {"fake": fake, "z": fake, "code": fake, "z_prior": fake2}
    _fit_discriminator(model, real, shared)
    with torch.no_grad():
        estimate = model.log_density_ratio(ONE_HOT)
    torch.testing.assert_close(estimate, torch.log(P / Q), atol=0.02, rtol=0)
    torch.testing.assert_close(model.energy(ONE_HOT).detach(), estimate)  # DDLS' d = log p/q: p_t = p_data


@pytest.mark.parametrize("name", ["wgan", "wgangp"])
def test_wasserstein_energy_is_the_optimal_critic_value(name):
    """p = N(1, 1), q = N(0, 1): the optimal 1-Lipschitz critic of a shift is D(x) = x + c (W1 = 1), and the energy
    Che et al. derive for the Wasserstein GAN is that value (not a density ratio: log p/q = x - 1/2 here too, but
    the test fixes the scale by the Lipschitz constraint)."""
    torch.manual_seed(0)
    model = zoo.create(name, image_shape=(1, 1, 1), latent_dim=1, generator=_linear,
                       discriminator=lambda shape, out: _linear(1, (out,)))
    nn.init.zeros_(model.discriminator[1].weight)  # a 1-D linear critic has a second local optimum, slope -1
    optimizer = torch.optim.Adam(model.discriminator.parameters(), lr=0.05)
    for _ in range(300):
        real, fake = torch.randn(512, 1, 1, 1) + 1, torch.randn(512, 1, 1, 1)
        optimizer.zero_grad()
        model.discriminator_loss(real, {"fake": fake})["loss"].backward()
        optimizer.step()
        model.after_update("d")  # WGAN clips the weights: then the slope is the clip bound, so rescale below
    x = torch.linspace(-1, 2, 7).view(-1, 1, 1, 1)
    energy = model.energy(x).detach()
    slope = (energy[-1] - energy[0]) / 3
    assert slope > 0  # the critic is high on data: e^{D} moves p_g towards p
    if name == "wgangp":
        torch.testing.assert_close(energy - energy[0], slope * (x.flatten() + 1))
        assert abs(slope - 1) < 0.1  # Lipschitz constant 1 (the penalty allows a little more)


def _energy_distance_critic(x: torch.Tensor) -> torch.Tensor:
    """Cramér's critic with h = identity and x'_g ~ N(0, 1) in closed form: ``E|x - Y| - |x|`` with
    ``E|x - Y| = x(2Φ(x) - 1) + 2φ(x)``."""
    x = x.double()
    density = torch.exp(-x**2 / 2) / math.sqrt(2 * math.pi)
    return x * (2 * torch.special.ndtr(x) - 1) + 2 * density - x.abs()


def _cramer_toy(code_net: nn.Module):
    """A 1-D Cramér GAN whose generator is the identity on z ~ N(0, 1), so p_g = N(0, 1), and whose code is
    ``code_net``."""
    model = zoo.create("cramergan", image_shape=(1, 1, 1), latent_dim=1, code_dim=1, generator=_linear,
                       discriminator=lambda shape, out: nn.Sequential(nn.Flatten(), code_net))
    model.generate = lambda z: z.view(-1, 1, 1, 1)
    return model


def test_cramer_energy_is_the_critic_of_algorithm_1_and_ddls_reaches_its_target():
    """With h = identity the energy is known in closed form (above), and latent DDLS must sample
    ``p_t(z) ∝ N(z; 0, 1)·e^{d(z)}``: narrower than N(0, 1), as d peaks at 0 (2φ(0) ≈ 0.80) and vanishes in the
    tails. A sign error (e^{-d}) would widen it instead."""
    model = _cramer_toy(nn.Identity())
    x = torch.linspace(-3, 3, 13)
    energy = model.energy(x.view(-1, 1, 1, 1), references=20_000).double()
    torch.testing.assert_close(energy, _energy_distance_critic(x), atol=0.03, rtol=0)

    grid = torch.linspace(-6, 6, 4001, dtype=torch.double)
    target = torch.exp(-grid**2 / 2 + _energy_distance_critic(grid))
    cdf = torch.cumsum(target, 0) / target.sum()
    z = latent_langevin(torch.randn(4000, 1, generator=torch.Generator().manual_seed(0)),
                        lambda z: model.energy(model.generate(z)), steps=1500, step_size=0.02,
                        generator=torch.Generator().manual_seed(1)).z.flatten().double()
    z, _ = z.sort()
    model_cdf = cdf[torch.searchsorted(grid, z).clamp(max=len(grid) - 1)]  # grid step 0.003
    steps = torch.arange(1, len(z) + 1, dtype=torch.double) / len(z)
    ks = max((steps - model_cdf).abs().max().item(), (steps - 1 / len(z) - model_cdf).abs().max().item())
    critical = 1.95 / math.sqrt(len(z))  # alpha = 0.001
    assert ks < critical, (ks, critical)
    target_std = math.sqrt((grid**2 * target).sum() / target.sum())
    assert target_std < 0.9 and abs(z.std().item() - target_std) < 0.05  # N(0, 1): 0.12 away
    assert ks_distance_to_normal(z) > critical  # DDLS moved the samples away from p_g


def test_cramer_critic_trained_with_its_own_loss_favours_the_data():
    """p = N(1, 1), q = p_g = N(0, 1), a linear code h(x) = ax + b trained with the model's critic loss (surrogate
    and gradient penalty): the energy is higher on data than on samples, peaks on the data side, and DDLS moves
    the generator's samples towards the data."""
    torch.manual_seed(0)
    model = _cramer_toy(nn.Linear(1, 1))
    optimizer = torch.optim.Adam(model.discriminator.parameters(), lr=0.02)
    for _ in range(300):
        real = torch.randn(512, 1, 1, 1) + 1
        optimizer.zero_grad()
        model.discriminator_loss(real, {"fake": torch.randn(512, 1, 1, 1), "fake2": torch.randn(512, 1, 1, 1)})[
            "loss"].backward()
        optimizer.step()
    with torch.no_grad():
        real, fake = torch.randn(4000, 1, 1, 1) + 1, torch.randn(4000, 1, 1, 1)
        assert model.energy(real).mean() - model.energy(fake).mean() > 0.1
        grid = torch.linspace(-2, 3, 51)
        assert grid[model.energy(grid.view(-1, 1, 1, 1)).argmax()] > 0.4
    z = latent_langevin(torch.randn(2000, 1), lambda z: model.energy(model.generate(z)), steps=500, step_size=0.02).z
    assert z.mean() > 0.2


# --- DRS through the hook on a toy with a known target -------------------------------------------------------------


class _ExactDiscriminator(nn.Module):
    """Outputs ``transform(d(x))`` with ``d(x) = log p_data/p_g`` known in closed form."""

    def __init__(self, transform):
        super().__init__()
        self.transform = transform
        self.unused = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        w = torch.atanh(x.flatten().clamp(-1 + 1e-7, 1 - 1e-7).double())
        log_ratio = -0.375 * w**2 + math.log(2)  # log N(w; 0, 1) - log N(w; 0, 2²)
        return self.transform(log_ratio).float().unsqueeze(1)


@pytest.mark.parametrize(("name", "kwargs", "transform"), [
    ("gan", {}, lambda d: d),  # the logit is the log ratio
    ("fgan", {"divergence": "pearson"}, lambda d: 2 * (torch.exp(d) - 1)),  # T* = f'(u) = 2(u - 1)
    ("fgan", {"divergence": "squared_hellinger"}, lambda d: d / 2),  # T* = 1 - u^-1/2 = 1 - exp(-v): v = log(u)/2
    ("lsgan", {}, torch.sigmoid),  # D* = (b p + a q)/(p + q) = p/(p + q) for a = 0, b = 1
    ("lsgan", {"least_squares_coding": (-1.0, 1.0, 0.0)}, lambda d: torch.tanh(d / 2)),  # (p - q)/(p + q)
])
def test_drs_through_the_model_hook_recovers_the_target(name, kwargs, transform):
    """G(z) = tanh(2z), data = tanh(w), w ~ N(0, 1): exact DRS (γ = 0) with the optimal discriminator accepts
    samples whose atanh is N(0, 1), at the rate 1/M = 1/2 of exact rejection sampling."""
    torch.manual_seed(0)
    model = zoo.create(name, image_shape=(1, 1, 1), latent_dim=1, generator=lambda latent, shape: nn.Linear(1, 1),
                       discriminator=lambda shape, out: _ExactDiscriminator(transform), **kwargs)
    with torch.no_grad():
        model.generator.weight.fill_(2.0)
        model.generator.bias.zero_()
    sampler = drs_for_model(model, burn_in=20_000, gamma_quantile=None, batch_size=2000)
    accepted = torch.atanh(sampler.sample(4000, torch.Generator().manual_seed(1)).flatten().double())
    critical = 1.95 / math.sqrt(4000)  # alpha = 0.001
    assert ks_distance_to_normal(accepted) < critical
    assert ks_distance_to_normal(2 * torch.randn(4000)) > 5 * critical
    assert 0.45 < sampler.acceptance_rate < 0.55


W_LIMIT = 4.0  # a smoothed toy D overshoots alpha where |atanh x| > 4: 4.6 % of p_g's mass, 0.006 % of p_data's


def _smoothed_overshooting(d: torch.Tensor) -> torch.Tensor:
    """The logit of D* = 0.9·p/(p + q) (one-sided label smoothing, α = 0.9), but sigmoid 0.909 > α in the tails."""
    optimum = torch.logit(0.9 * torch.sigmoid(d))
    return torch.where(d < -0.375 * W_LIMIT**2 + math.log(2), torch.full_like(d, 2.3), optimum)


def _toy_gan(transform, **kwargs):
    """G(z) = tanh(2z), D outputs ``transform(log p_data/p_g)`` for data tanh(w), w ~ N(0, 1)."""
    model = zoo.create("gan", image_shape=(1, 1, 1), latent_dim=1, generator=lambda latent, shape: nn.Linear(1, 1),
                       discriminator=lambda shape, out: _ExactDiscriminator(transform), **kwargs)
    with torch.no_grad():
        model.generator.weight.fill_(2.0)
        model.generator.bias.zero_()
    return model


def test_smoothed_log_ratio_has_no_value_at_or_above_alpha_instead_of_a_plateau():
    logits = torch.tensor([0.0, 2.19, 2.20, 5.0], requires_grad=True)
    ratio = logistic_log_density_ratio(logits, real_label=0.9)
    assert 7.0 < ratio[1] < 7.5 and ratio[:2].isfinite().all() and ratio[2:].isnan().all()  # was 27.5, 27.6
    ratio[:2].sum().backward()
    assert logits.grad.isfinite().all()


def test_exact_drs_on_a_smoothed_discriminator_accepts_at_the_exact_rate_and_counts_what_it_could_not_score():
    """With the clamped ratio the overshooting candidates scored ~27.5, became d_M and exact DRS accepted almost
    nothing; without a score they are rejected, and the rest is exact rejection sampling (1/M = 1/2)."""
    torch.manual_seed(0)
    sampler = drs_for_model(_toy_gan(_smoothed_overshooting, real_label=0.9), burn_in=20_000, gamma_quantile=None,
                            batch_size=2000)
    with pytest.warns(SamplerWarning, match=r"candidates had no density ratio .* and were rejected"):
        accepted = torch.atanh(sampler.sample(4000, torch.Generator().manual_seed(1)).flatten().double())
    assert 0.45 < sampler.acceptance_rate < 0.55
    assert ks_distance_to_normal(accepted) < 1.95 / math.sqrt(4000)
    assert 0.03 < sampler.unscored / sampler.proposed < 0.065  # P(|N(0, 4)| > 4) = 4.6 %


def test_ddls_refuses_moves_where_the_energy_has_no_value_and_samples_the_rest():
    """d = 0 where z <= 1, no value above: the target is N(0, 1) truncated at 1 (mean -φ(1)/Φ(1) = -0.288)."""
    torch.manual_seed(0)
    run = latent_langevin(torch.randn(2000, 1), lambda z: torch.where(z[:, 0] > 1, torch.nan, 0.0 * z[:, 0]))
    assert run.refused > 0 and (run.z <= 1).float().mean() > 0.99
    assert abs(run.z.mean().item() + 0.288) < 0.05


def test_drs_calibration_on_held_out_data_undoes_a_miscalibrated_discriminator():
    """D's log ratio is 3·d + 1 (over-confident and biased): uncalibrated exact DRS samples p_g·e^{3d} (too
    narrow); Platt scaling on held-out data finds a = 1/3, b = -1/3 and DRS recovers p_data at 1/M = 1/2."""
    critical = 1.95 / math.sqrt(4000)
    held_out = (torch.tanh(torch.randn(4000, 1, 1, 1, generator=torch.Generator().manual_seed(5))) + 1) / 2
    for calibrated in (False, True):
        torch.manual_seed(0)
        sampler = drs_for_model(_toy_gan(lambda d: 3 * d + 1), burn_in=20_000, gamma_quantile=None,
                                batch_size=2000, held_out=held_out if calibrated else None)
        accepted = torch.atanh(sampler.sample(4000, torch.Generator().manual_seed(1)).flatten().double())
        if calibrated:
            assert abs(sampler.scale - 1 / 3) < 0.04 and abs(sampler.shift + 1 / 3) < 0.1
            assert ks_distance_to_normal(accepted) < critical and 0.45 < sampler.acceptance_rate < 0.55
        else:
            assert ks_distance_to_normal(accepted) > 3 * critical


def test_drs_calibration_refuses_scores_that_rank_real_below_generated():
    held_out = (torch.tanh(torch.randn(500, 1, 1, 1)) + 1) / 2
    with pytest.raises(ValueError, match="slope a = .* is not positive"):
        drs_for_model(_toy_gan(lambda d: -d), burn_in=100, batch_size=100, held_out=held_out)


# --- DDLS' defaults and its report -----------------------------------------------------------------------------------


class _Shift(nn.Module):
    """A discriminator whose logit is ``1.5·atanh(x₁)``: with G(z) = tanh(z), ``d(G(z)) = 1.5·z₁``."""

    def __init__(self, *args):
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return 1.5 * torch.atanh(x.flatten(1)[:, :1].clamp(-1 + 1e-6, 1 - 1e-6))


def test_ddls_with_its_defaults_reaches_the_target_mean_and_says_so():
    """p_t(z) ∝ N(z; 0, I)·e^{1.5 z₁} = N((1.5, 0), I). With the defaults the chains' mean is within 0.05 of it and
    the run reports them settled; a 50-step chain (mean ≈ 0.3) is reported as not settled."""
    torch.manual_seed(0)
    model = zoo.create("gan", image_shape=(1, 1, 2), latent_dim=2, discriminator=_Shift,
                       generator=lambda latent, shape: nn.Unflatten(1, shape))
    images, run = ddls(model, 2000, seed=0)
    assert run.steps == STEPS and run.settled and "settled" in run.summary()
    torch.testing.assert_close(run.z.mean(0), torch.tensor([1.5, 0.0]), atol=0.05, rtol=0)
    assert abs(run.z.var(0) - 1).max() < 0.1 and images.shape == (2000, 1, 1, 2)
    short = ddls(model, 64, steps=50, seed=0)[1]
    assert not short.settled and "NOT settled" in short.summary() and short.z[:, 0].mean() < 0.6
    with pytest.warns(SamplerWarning, match="NOT settled"):
        ddls_sample(model, 64, steps=50)


def test_diverged_chains_are_reported_diverged_not_settled():
    """A huge step throws the chains where d has no value: most moves are refused and the start-end correlation
    means nothing, so the verdict is "diverged" (before, a correlation near -1 read as "settled")."""
    torch.manual_seed(0)
    run = latent_langevin(torch.randn(8, 2), lambda z: torch.where(z.abs().amax(1) > 10, torch.nan, 0 * z[:, 0]),
                          steps=10, step_size=1e6)
    assert run.diverged and not run.settled
    assert "(settled when <= 0.1): DIVERGED: the chains ran off where d has no value" in run.summary()


def test_sample_command_runs_exactly_steps_langevin_steps_and_reports_them(tmp_path, capsys, monkeypatch):
    from zoo.cli import main
    from zoo.models.gan import GAN

    model = zoo.create("gan", image_shape=(1, 28, 28), latent_dim=8)
    path = tmp_path / "gan.ckpt"
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams)}, path)
    calls = []
    original = GAN.log_density_ratio
    monkeypatch.setattr(GAN, "log_density_ratio", lambda self, x: calls.append(len(x)) or original(self, x))
    out = str(tmp_path / "grid.png")
    main(["sample", "--ckpt", str(path), "--mode", "ddls", "--steps", "7", "--n", "3", "--out", out])
    assert calls.count(3) == 7 + 1  # on the 3 chains: the start, then one energy per step (the memory check
    # measures the nets on 2 images first)
    assert "DDLS: 7 Langevin steps; correlation of the chains' ends with their starts" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # DRS calibrates by default: this checkpoint records no data to calibrate on
        main(["sample", "--ckpt", str(path), "--mode", "drs", "--out", out])
    assert "--no-calibrate" in capsys.readouterr().err
    main(["sample", "--ckpt", str(path), "--mode", "drs", "--no-calibrate", "--n", "2", "--out", out])
    out = capsys.readouterr().out
    assert "DRS acceptance rate" in out and "not calibrated" in out


# --- settings that are not a sampler ---------------------------------------------------------------------------------


@pytest.mark.parametrize("settings", [{"steps": 0}, {"steps": -5}, {"step_size": 0.0}, {"step_size": -0.1},
                                      {"noise_scale": -1.0}])
def test_langevin_refuses_settings_that_are_no_sampler(settings):
    with pytest.raises(ValueError, match="DDLS needs steps >= 1, step_size > 0"):
        latent_langevin(torch.zeros(2, 2), None, **{"steps": 5, **settings})
    with pytest.raises(ValueError, match="DDLS needs steps >= 1"):
        ddls_sample(zoo.create("gan", image_shape=(1, 28, 28)), 2, **settings)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"burn_in": 0}, "burn_in >= 1"), ({"batch_size": -1}, "batch_size >= 1"),
    ({"gamma_quantile": 1.5}, "quantile in \\[0, 1\\]"),
])
def test_drs_refuses_settings_out_of_range(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DiscriminatorRejectionSampler(lambda n: torch.randn(n), lambda x: x, **{"burn_in": 10, **kwargs})
    sampler = DiscriminatorRejectionSampler(lambda n: torch.randn(n), lambda x: x, burn_in=10, batch_size=10)
    with pytest.raises(ValueError, match="n >= 1"):
        sampler.sample(0)


def test_drs_low_acceptance_advises_lowering_the_quantile_and_reports_the_rate():
    sampler = DiscriminatorRejectionSampler(lambda n: torch.randn(n), lambda x: 10 * x, burn_in=100, batch_size=100,
                                            gamma_quantile=0.999)
    with pytest.raises(RuntimeError, match=r"acceptance rate .*lower gamma_quantile"):
        sampler.sample(10_000, max_rounds=2)


def test_sample_command_refuses_in_one_line_naming_the_model_and_what_applies(tmp_path, capsys):
    from zoo.cli import main

    out = str(tmp_path / "grid.png")

    def refusal(argv: list[str]) -> tuple[int, str]:
        with pytest.raises(SystemExit) as stop:
            main(argv)
        return stop.value.code, capsys.readouterr().err

    code, err = refusal(["sample", "--ckpt", "vae_fashion_mnist", "--mode", "ddls", "--out", out])
    assert code == 1 and re.search("zoo: error: DDLS does not apply to VAE.*reconstruct", err)
    code, err = refusal(["sample", "--ckpt", "dcgan_fashion_mnist", "--mode", "ddls", "--steps", "-1", "--out", out])
    assert code == 2 and "argument --steps: must be >= 1, got -1" in err
    code, err = refusal(["sample", "--ckpt", "dcgan_fashion_mnist", "--mode", "drs", "--gamma-quantile", "1.5",
                         "--out", out])
    assert code == 2 and "argument --gamma-quantile: must be in [0, 1], got 1.5" in err
    assert not Path(out).exists()
