"""Spectral normalisation (Miyato et al. 2018) as a technique of every adversarial model: which layers it covers,
the largest singular value it enforces, the state it keeps, and how it composes with minibatch discrimination, the
generator EMA, checkpoints and bf16-mixed training (resume parity: tests/test_resume.py)."""

import pytest
import torch
from torch import nn
from torch.nn.utils.parametrize import is_parametrized

import zoo
from tests.conftest import synthetic_data, tiny_trainer
from zoo.arguments import InvalidArgument
from zoo.core.adversarial import AdversarialModel
from zoo.nets import DCGANDiscriminator, MinibatchDiscrimination, spectral_normalise

pytestmark = pytest.mark.usefixtures("one_thread")

ADVERSARIAL = [e.name for e in zoo.list_models() if issubclass(e.cls, AdversarialModel)]
DCGAN_NETS = dict(
    latent_dim=8,
    generator={"class_path": "zoo.nets.DCGANGenerator", "init_args": {"base_channels": 8}},
    discriminator={"class_path": "zoo.nets.UnnormalisedDCGANDiscriminator", "init_args": {"base_channels": 8}},
)
RESNET_NETS = dict(
    latent_dim=8,
    generator={"class_path": "zoo.nets.ResNetGenerator", "init_args": {"channels": 8}},
    discriminator={"class_path": "zoo.nets.ResNetCritic", "init_args": {"channels": 8, "pooling": "sum"}},
)
LAYERS = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)


def _layers(net: nn.Module) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, LAYERS)]


def _largest_singular_value(layer: nn.Module) -> float:
    """σ of the weight as spectral normalisation reshapes it: (out, in·k·k), or (out, in·k·k) of a transposed
    convolution's (in, out, k, k) weight."""
    weight = layer.weight.detach()
    matrix = weight.transpose(0, 1).flatten(1) if isinstance(layer, nn.ConvTranspose2d) else weight.flatten(1)
    return torch.linalg.matrix_norm(matrix.double(), ord=2).item()


@pytest.mark.parametrize("nets", [DCGAN_NETS, RESNET_NETS], ids=["dcgan_nets", "resnet_nets"])
def test_every_layer_is_normalised_to_unit_spectral_norm_after_a_few_training_passes(nets):
    torch.manual_seed(0)
    model = zoo.create("sngan", image_shape=(1, 28, 28), techniques={"generator_spectral_norm": True}, **nets)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-4)  # the paper's
    # Training steps move the weights, and each forward pass runs one power iteration that follows them: the 15
    # iterations at wrapping left one generator conv of the residual nets 6 % above 1, < 1 % after these 10 steps.
    # (It tracks slowly moving weights: at lr 1e-3 these tiny nets on noise drifted up to 10 % off within 15 steps.)
    for _ in range(10):
        optimizer.zero_grad()
        shared = model.prepare(torch.rand(8, 1, 28, 28) * 2 - 1, {"d", "g"})
        (model.discriminator_loss(torch.rand(8, 1, 28, 28) * 2 - 1, shared)["loss"]
         + model.generator_loss(None, shared)["loss"]).backward()
        optimizer.step()
    for net in (model.discriminator, model.generator):
        layers = _layers(net)
        assert layers and all(is_parametrized(layer, "weight") for layer in layers)  # skipping none
        for layer in layers:
            assert _largest_singular_value(layer) == pytest.approx(1.0, rel=0.05)


def test_power_iteration_runs_in_training_forward_passes_only():
    torch.manual_seed(0)
    model = zoo.create("sngan", image_shape=(1, 28, 28), **DCGAN_NETS)
    conv = model.discriminator.body[2].parametrizations.weight[0]  # the second conv: u and v of 16 and 128 values
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    u = conv._u.clone()
    model.eval()
    model.discriminator(x)
    assert torch.equal(conv._u, u)  # sampling and the samplers' scores move no state
    model.train()
    model.discriminator(x)
    assert not torch.equal(conv._u, u)
    assert {"discriminator.head.parametrizations.weight.0._u", "discriminator.head.parametrizations.weight.0._v",
            "discriminator.head.parametrizations.weight.original"} <= set(model.state_dict())


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_the_technique_normalises_any_adversarial_models_discriminator_and_is_off_by_default(name):
    model = zoo.create(name, image_shape=(1, 28, 28))
    expected = name in ("sngan", "cgan_pd")  # the papers that normalise D
    assert model.spectral_norm == expected
    assert all(is_parametrized(layer, "weight") == expected for layer in _layers(model.discriminator))
    assert not any(is_parametrized(layer) for layer in _layers(model.generator))
    switched = zoo.create(name, image_shape=(1, 28, 28), techniques={"spectral_norm": not expected})
    assert all(is_parametrized(layer, "weight") != expected for layer in _layers(switched.discriminator))


def test_unchanged_models_keep_their_state_dict_keys():
    """Today's GAN and DCGAN checkpoints load into today's models: no parametrization unless asked for."""
    for name in ("gan", "dcgan"):
        keys = zoo.create(name, image_shape=(1, 28, 28)).state_dict().keys()
        assert not any("parametrizations" in key for key in keys)


def test_with_minibatch_discrimination_ema_and_bf16_it_trains_and_round_trips_a_checkpoint(tmp_path):
    torch.manual_seed(0)
    techniques = {"minibatch_kernels": 4, "ema_decay": 0.9, "generator_spectral_norm": True,
                  "historical_averaging": 0.01}
    model = zoo.create("sngan", image_shape=(1, 28, 28), n_critic=2, techniques=techniques, **DCGAN_NETS)
    assert isinstance(model.discriminator, MinibatchDiscrimination)
    # the zero-initialised minibatch head cannot be normalised at zero (W / σ(W) = 0/0): it starts small instead
    assert all(is_parametrized(layer, "weight") for layer in _layers(model.discriminator))
    assert all(is_parametrized(layer, "weight") for layer in _layers(model.generator_ema.module))
    trainer = tiny_trainer(tmp_path, max_steps=model.optimizer_steps(6), max_epochs=-1, precision="bf16-mixed")
    trainer.fit(model, datamodule=synthetic_data())
    assert all(torch.isfinite(v).all() for v in model.state_dict().values() if v.is_floating_point())
    assert all(_largest_singular_value(layer) == pytest.approx(1.0, rel=0.05) for layer in _layers(model.discriminator))
    trainer.save_checkpoint(tmp_path / "m.ckpt")
    loaded = zoo.load(tmp_path / "m.ckpt")
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    assert torch.equal(loaded.sample(3, seed=0), model.sample(3, seed=0))
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        assert torch.equal(loaded.discriminator(x), model.eval().discriminator(x))


def test_a_zero_weight_starts_small_and_a_net_without_layers_is_refused():
    net = MinibatchDiscrimination(DCGANDiscriminator((1, 28, 28), 1, 8), num_kernels=3, kernel_dim=2)
    spectral_normalise(net)
    assert torch.isfinite(net(torch.randn(4, 1, 28, 28))).all()
    assert _largest_singular_value(net.minibatch_head) == pytest.approx(1.0, rel=1e-3)
    with pytest.raises(InvalidArgument, match="no linear or convolutional layer in the generator"):
        spectral_normalise(nn.Sequential(nn.Tanh()), "generator")


def test_sngan_defaults_are_the_papers_cifar10_settings():
    model = zoo.create("sngan", image_shape=(3, 32, 32))
    assert (model.loss, model.n_critic, model.spectral_norm) == ("hinge", 5, True)
    optimizer = model.default_optimizer("d", [nn.Parameter(torch.zeros(1))])
    assert isinstance(optimizer, torch.optim.Adam) and optimizer.defaults["lr"] == 2e-4
    assert optimizer.defaults["betas"] == (0.0, 0.9)
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)) for m in model.discriminator.modules())
