"""The adversarial family's models and shared techniques: clipping, k_t, EMA, historical averaging, minibatch
discrimination, feature matching, f-GAN divergences and mixed precision (fast, on tiny nets and synthetic data)."""

import pytest
import torch
from lightning.pytorch import Callback

import zoo
from tests.conftest import synthetic_data, tiny_trainer
from zoo.losses.fgan import F_DIVERGENCES
from zoo.losses.stabilisers import feature_matching_loss
from zoo.nets import (
    AutoencoderDiscriminator,
    DCGANCritic,
    DCGANDiscriminator,
    MinibatchDiscrimination,
    MLPDiscriminator,
)

TINY = dict(
    latent_dim=8,
    generator={"class_path": "zoo.nets.DCGANGenerator", "init_args": {"base_channels": 8}},
    discriminator={"class_path": "zoo.nets.DCGANDiscriminator", "init_args": {"base_channels": 8}},
)
TINY_CRITIC = {**TINY, "discriminator": {"class_path": "zoo.nets.DCGANCritic", "init_args": {"base_channels": 8}}}
TINY_AE = {
    **TINY, "discriminator": {"class_path": "zoo.nets.AutoencoderDiscriminator", "init_args": {"base_channels": 8}}
}


def _fit(model, tmp_path, iterations, callbacks=(), **trainer_args):
    steps = model.optimizer_steps(iterations)
    trainer = tiny_trainer(tmp_path, max_steps=steps, max_epochs=-1, callbacks=list(callbacks), **trainer_args)
    trainer.fit(model, datamodule=synthetic_data())
    return trainer


class _Record(Callback):
    """Calls ``fn(model)`` after every training batch and keeps the results."""

    def __init__(self, fn):
        self.fn, self.values = fn, []

    def on_train_batch_end(self, trainer, pl_module, *args):
        self.values.append(self.fn(pl_module))


# --- WGAN ------------------------------------------------------------------------------------------------------


def test_wgan_weight_clipping_keeps_every_critic_parameter_in_the_box(tmp_path):
    torch.manual_seed(0)
    model = zoo.create("wgan", image_shape=(1, 28, 28), clip=0.01, n_critic=2, **TINY)
    model.d_optimizer = lambda params: torch.optim.RMSprop(params, lr=0.05)  # big steps: clipping must act
    largest = _Record(lambda m: max(p.abs().max().item() for p in m.discriminator.parameters()))
    _fit(model, tmp_path, 4, [largest])
    assert max(largest.values) <= 0.01
    assert largest.values[-1] == pytest.approx(0.01)  # the constraint is active, not vacuous
    assert max(p.abs().max().item() for p in model.generator.parameters()) > 0.01  # only the critic is clipped


def _reference_wgan_schedule(batches: int, n_critic: int, warmup: int, first: int, every: int) -> list[int]:
    """The authors' loop, written the way their code reads: the batches after which G steps."""
    due, batch, g = [], 0, 0
    while True:
        critic_steps = warmup if g < first or (every and g % every == 0) else n_critic
        batch += critic_steps
        if batch > batches:
            return due
        due.append(batch - 1)
        g += 1


@pytest.mark.parametrize("schedule", [(5, 100, 25, 500), (2, 10, 3, 50), (5, 5, 25, 500), (3, 7, 0, 4), (1, 4, 2, 0)])
def test_wgan_critic_schedule_matches_the_reference_loop(schedule):
    model = zoo.create("wgan", image_shape=(1, 28, 28), **dict(zip(
        ["n_critic", "warmup_n_critic", "warmup_generator_steps", "boost_every"], schedule)), **TINY)
    critic, generator = model.updates()
    batches = 6000
    assert [i for i in range(batches) if generator.is_due(i)] == _reference_wgan_schedule(batches, *schedule)
    assert all(critic.is_due(i) for i in range(batches))


def test_wgan_rejects_an_impossible_critic_schedule():
    with pytest.raises(ValueError, match="warmup_n_critic = n_critic"):
        zoo.create("wgan", image_shape=(1, 28, 28), warmup_n_critic=0, **TINY)


# --- WGAN-GP under mixed precision -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["wgangp", "dragan"])
def test_gradient_penalty_under_bf16_autocast_is_finite_and_reaches_the_critic(name):
    """WGAN-GP's penalty at interpolates and DRAGAN's around perturbed reals: float32 under bf16 autocast."""
    torch.manual_seed(0)
    model = zoo.create(name, image_shape=(1, 28, 28), **TINY_CRITIC)
    real = torch.rand(8, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        fake = model.generate(model.sample_latent(8))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        terms = model.discriminator_loss(real, {"fake": fake})
    assert terms["gradient_penalty"].dtype == torch.float32 and torch.isfinite(terms["gradient_penalty"])
    terms["gradient_penalty"].backward()  # the penalty alone (biases do not change ∇_x D, so they get none)
    grads = {k: p.grad for k, p in model.discriminator.named_parameters() if k.endswith("weight")}
    assert all(g is not None and torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads.values()), grads.keys()


def test_wgangp_trains_under_bf16_mixed(tmp_path):
    torch.manual_seed(0)
    model = zoo.create("wgangp", image_shape=(1, 28, 28), n_critic=1, **TINY_CRITIC)
    before = {k: v.clone() for k, v in model.named_parameters()}
    trainer = _fit(model, tmp_path, 3, precision="bf16-mixed", log_every_n_steps=1)
    for key, value in trainer.logged_metrics.items():
        assert torch.isfinite(value), key
    assert "train/d/gradient_penalty" in trainer.logged_metrics
    for key, value in model.named_parameters():
        assert value.dtype == torch.float32 and torch.isfinite(value).all(), key
    assert all(not torch.equal(v, before[k]) for k, v in model.named_parameters() if k.endswith("head.weight"))


def test_wgangp_fp16_gradient_scaling_applies_to_the_penalty_exactly_once(tmp_path):
    """16-mixed with a GradScaler (CPU stands in for a GPU): with plain SGD the critic's update, penalty included,
    equals the fp32 one; a penalty left out of the scaled loss, or scaled twice, would be off by the scale."""
    from lightning.pytorch.plugins.precision import MixedPrecision

    sgd = {"class_path": "torch.optim.SGD", "init_args": {"lr": 0.01}}

    def critic_update(plugins):
        torch.manual_seed(0)
        model = zoo.create("wgangp", image_shape=(1, 28, 28), n_critic=1, g_optimizer=sgd, d_optimizer=sgd,
                           **TINY_CRITIC)
        before = {k: v.clone() for k, v in model.discriminator.named_parameters()}
        trainer = tiny_trainer(tmp_path, plugins=plugins, max_steps=4, log_every_n_steps=1)
        trainer.fit(model, datamodule=synthetic_data())  # two iterations of a critic step and a generator step
        penalty = trainer.logged_metrics["train/d/gradient_penalty"]
        return penalty, {k: (v - before[k]).norm() for k, v in model.discriminator.named_parameters()}

    fp32_penalty, fp32 = critic_update(None)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**12)
    fp16_penalty, fp16 = critic_update([MixedPrecision("16-mixed", "cpu", scaler=scaler)])
    assert scaler.get_scale() > 1 and fp32_penalty > 0.1
    torch.testing.assert_close(fp16_penalty, fp32_penalty, rtol=0.02, atol=0)
    for key in ("body.0.weight", "head.weight"):
        assert fp32[key] > 0
        torch.testing.assert_close(fp16[key], fp32[key], rtol=0.03, atol=0)


# --- BEGAN -----------------------------------------------------------------------------------------------------


def test_began_k_follows_the_controller_and_stays_in_the_unit_interval(tmp_path):
    torch.manual_seed(0)
    model = zoo.create("began", image_shape=(1, 28, 28), lambda_k=5.0, k_init=0.5, **TINY_AE)
    ks = _Record(lambda m: m.k.item())
    trainer = _fit(model, tmp_path, 6, [ks], log_every_n_steps=1)
    assert all(0.0 <= k <= 1.0 for k in ks.values)
    assert any(k in (0.0, 1.0) for k in ks.values)  # the gain is large enough to hit a bound: the clip acts
    assert {"train/d/k", "train/d/convergence"} <= set(trainer.logged_metrics)
    assert "k" in dict(model.named_buffers())  # checkpointed with the weights


def test_began_k_update_uses_the_discriminator_step_losses():
    model = zoo.create("began", image_shape=(1, 28, 28), gamma=0.5, lambda_k=0.01, k_init=0.2, **TINY_AE)
    real = torch.rand(4, 1, 28, 28) * 2 - 1
    terms = model.discriminator_loss(real, {"fake": torch.zeros(4, 1, 28, 28)})
    model.after_update("d")
    expected = 0.2 + 0.01 * (0.5 * terms["real_loss"].item() - terms["fake_loss"].item())
    assert model.k.item() == pytest.approx(min(max(expected, 0.0), 1.0), rel=1e-5)


# --- generator EMA and historical averaging --------------------------------------------------------------------


def test_generator_ema_equals_the_closed_form_average_and_is_used_for_sampling():
    decay = 0.9
    model = zoo.create("dcgan", image_shape=(1, 28, 28), techniques={"ema_decay": decay}, **TINY)
    theta = [p.detach().clone() for p in model.generator.parameters()]
    updates = [[torch.full_like(t, float(i)) for t in theta] for i in (1, 2, 3)]
    for values in updates:
        with torch.no_grad():
            for p, v in zip(model.generator.parameters(), values):
                p.copy_(v)
        model.after_update("g")
    d = decay
    for i, average in enumerate(model.generator_ema.module.parameters()):
        closed_form = d**3 * theta[i] + (1 - d) * (d**2 * 1.0 + d * 2.0 + 3.0)
        torch.testing.assert_close(average, closed_form)
    snapshot = [p.clone() for p in model.generator_ema.module.parameters()]
    model.after_update("d")  # a D step leaves the generator EMA alone
    assert all(torch.equal(a, b) for a, b in zip(snapshot, model.generator_ema.module.parameters()))

    z = model.sample_latent(4)
    model.eval()
    torch.testing.assert_close(model.generate(z), torch.tanh(model.generator_ema(z)))
    assert not torch.allclose(model.generate(z), torch.tanh(model.generator(z)))
    model.train()  # training uses the live generator
    torch.testing.assert_close(model.generate(z), torch.tanh(model.generator(z)))


def test_historical_averaging_penalises_distance_to_the_mean_of_past_weights():
    model = zoo.create("dcgan", image_shape=(1, 28, 28), techniques={"historical_averaging": 0.5}, **TINY)
    theta0 = [p.detach().clone() for p in model.discriminator.parameters()]
    with torch.no_grad():
        for p in model.discriminator.parameters():
            p.add_(1.0)
    model.after_update("d")  # past weights: θ0 and θ0 + 1, mean θ0 + 1/2
    history = model.weight_history["d"]
    assert history.count.item() == 2
    for mean, t0 in zip(history.means, theta0):
        torch.testing.assert_close(mean, t0 + 0.5)
    size = sum(t.numel() for t in theta0)
    assert history.penalty(model.discriminator).item() == pytest.approx(0.25 * size, rel=1e-5)
    real = torch.rand(4, 1, 28, 28) * 2 - 1
    terms = model._discriminator_update(real, {"fake": torch.zeros(4, 1, 28, 28)})
    plain = model.discriminator_loss(real, {"fake": torch.zeros(4, 1, 28, 28)})["loss"]
    assert terms["loss"].item() == pytest.approx(plain.item() + 0.5 * 0.25 * size, rel=1e-4)


# --- minibatch discrimination and feature matching -------------------------------------------------------------


@pytest.mark.parametrize("base", [DCGANDiscriminator((1, 28, 28), 1, 8), MLPDiscriminator((1, 28, 28), 1, (32,))])
def test_minibatch_discrimination_starts_as_its_base_and_sees_the_batch(base):
    net = MinibatchDiscrimination(base, num_kernels=6, kernel_dim=3)
    x = torch.randn(5, 1, 28, 28)
    torch.testing.assert_close(net(x), base(x))  # zero-initialised minibatch head
    torch.testing.assert_close(net.features(x), base.features(x))
    same = net.minibatch_features(base.features(x[:1]).expand(5, -1))  # a collapsed batch
    torch.testing.assert_close(same, torch.full((5, 6), 4.0))  # Σ_{j≠i} exp(0) = B - 1
    with torch.no_grad():
        net.projection.weight.mul_(1e4)
    far = net.minibatch_features(base.features(x))
    assert far.max().item() < 1e-3  # distinct samples far apart in every kernel contribute nothing


def test_minibatch_discrimination_option_wraps_the_discriminator():
    model = zoo.create("wgangp", image_shape=(1, 28, 28), techniques={"minibatch_kernels": 4}, **TINY_CRITIC)
    assert isinstance(model.discriminator, MinibatchDiscrimination)
    assert model.discriminator(torch.randn(3, 1, 28, 28)).shape == (3, 1)
    with pytest.raises(ValueError, match="linear head"):
        zoo.create("began", image_shape=(1, 28, 28), techniques={"minibatch_kernels": 4}, **TINY_AE)


def test_feature_matching_replaces_the_generator_loss():
    torch.manual_seed(0)
    model = zoo.create("dcgan", image_shape=(1, 28, 28), techniques={"feature_matching": True}, **TINY)
    real, fake = torch.rand(6, 1, 28, 28) * 2 - 1, torch.rand(6, 1, 28, 28) * 2 - 1
    model.eval()  # batch norm in eval mode: features are a function of each image only
    terms = model._generator_update(real, {"fake": fake})
    expected = feature_matching_loss(model.discriminator.features(real), model.discriminator.features(fake))
    assert terms["loss"].item() == pytest.approx(expected.item(), rel=1e-6)
    assert set(terms) == {"loss", "feature_matching"}


# --- nets and the other models ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (3, 64, 64)])
def test_autoencoder_discriminator_reconstructs_at_every_size(shape):
    net = AutoencoderDiscriminator(shape, out_features=16, base_channels=4)
    x = torch.randn(2, *shape)
    assert net(x).shape == x.shape
    assert net.encode(x).shape == net.features(x).shape == (2, 16)
    torch.testing.assert_close(net.decode(net.encode(x)), net(x))


def test_cramer_critic_outputs_a_code_of_the_configured_size():
    model = zoo.create("cramergan", image_shape=(1, 28, 28), code_dim=32, **TINY_CRITIC)
    assert isinstance(model.discriminator, DCGANCritic)
    assert model.discriminator(torch.randn(3, 1, 28, 28)).shape == (3, 32)
    shared = model.prepare(torch.randn(4, 1, 28, 28), {"d", "g"})
    assert shared["fake"].shape == shared["fake2"].shape and not torch.equal(shared["fake"], shared["fake2"])


@pytest.mark.parametrize("divergence", list(F_DIVERGENCES))
@pytest.mark.parametrize("objective", ["non_saturating", "saddle"])
def test_fgan_every_divergence_gives_finite_losses_and_gradients(divergence, objective):
    torch.manual_seed(0)
    model = zoo.create("fgan", image_shape=(1, 28, 28), divergence=divergence, generator_objective=objective, **TINY)
    real = torch.rand(6, 1, 28, 28) * 2 - 1
    shared = model.prepare(real, {"d", "g"})
    for loss_fn in (model.discriminator_loss, model.generator_loss):
        model.zero_grad()
        loss = loss_fn(real, shared)["loss"]
        loss.backward(retain_graph=True)
        assert torch.isfinite(loss)
        assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_fgan_rejects_unknown_names():
    with pytest.raises(ValueError, match="squared_hellinger"):
        zoo.create("fgan", image_shape=(1, 28, 28), divergence="hellinger")
    with pytest.raises(ValueError, match="saddle"):
        zoo.create("fgan", image_shape=(1, 28, 28), generator_objective="minimax")


def test_ebgan_generator_loss_adds_the_pull_away_term():
    torch.manual_seed(0)
    model = zoo.create("ebgan", image_shape=(1, 28, 28), pull_away_weight=0.1, **TINY_AE)
    fake = torch.rand(6, 1, 28, 28) * 2 - 1
    terms = model.generator_loss(fake, {"fake": fake})
    assert terms["loss"].item() == pytest.approx((terms["fake_energy"] + 0.1 * terms["pull_away"]).item(), rel=1e-6)
    torch.testing.assert_close(terms["fake_energy"], model.autoencoder_energy(fake).mean())


@pytest.mark.parametrize("name", ["wgan", "wgangp", "fgan", "cramergan", "ebgan", "began"])
def test_techniques_round_trip_through_a_checkpoint(name, tmp_path):
    torch.manual_seed(0)
    nets = TINY_AE if name in ("ebgan", "began") else TINY_CRITIC if name in ("wgangp", "cramergan") else TINY
    techniques = {"ema_decay": 0.5, "historical_averaging": 0.01, "feature_matching": True}
    if name not in ("ebgan", "began"):
        techniques["minibatch_kernels"] = 4
    schedule = {"n_critic": 1, "warmup_n_critic": 1} if name == "wgan" else {"n_critic": 1}
    model = zoo.create(name, image_shape=(1, 28, 28), techniques=techniques, **schedule, **nets)
    trainer = _fit(model, tmp_path, 2, log_every_n_steps=1)
    assert {"train/g/feature_matching", "train/d/historical_averaging"} <= set(trainer.logged_metrics)
    trainer.save_checkpoint(tmp_path / "m.ckpt")
    loaded = zoo.load(tmp_path / "m.ckpt")
    assert loaded.techniques == model.techniques
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    assert torch.equal(loaded.sample(3, seed=0), model.sample(3, seed=0))


@pytest.mark.parametrize(
    "bad", [{"ema_decay": 1.0}, {"ema_decay": -0.1}, {"historical_averaging": -1.0}, {"minibatch_kernels": -2}]
)
def test_invalid_techniques_fail_at_construction(bad):
    from zoo.core.adversarial import AdversarialTechniques

    with pytest.raises(ValueError):
        AdversarialTechniques(**bad)
