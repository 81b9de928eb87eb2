"""The residual generator and critic of Gulrajani et al. 2017: shapes, the paper's block layout at 32 px, and a
training step inside every GAN of the family that takes an image critic."""

import pytest
import torch

import zoo
from tests.conftest import synthetic_data, tiny_trainer
from zoo.nets import ResBlock, ResNetCritic, ResNetGenerator

SHAPES = [(1, 28, 28), (3, 32, 32), (3, 64, 64)]
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("shape", SHAPES)
def test_generator_and_critic_shapes(shape):
    generator, critic = ResNetGenerator(16, shape, channels=8), ResNetCritic(shape, out_features=5, channels=8)
    fake = generator(torch.randn(3, 16))
    assert fake.shape == (3, *shape)
    assert critic(fake).shape == (3, 5) and critic.features(fake).shape == (3, 8)
    torch.testing.assert_close(critic.head(critic.features(fake)), critic(fake))


def test_cifar_layout_is_the_papers():
    generator, critic = ResNetGenerator(128, (3, 32, 32)), ResNetCritic((3, 32, 32))
    assert [b.resample for b in generator.blocks] == ["up"] * 3 and generator.seed == 4
    blocks = [m for m in critic.body if isinstance(m, ResBlock)]
    layout = [(b.resample, b.first) for b in blocks]
    assert layout == [("down", True), ("down", False), ("none", False), ("none", False)]
    assert critic.feature_size == 128
    assert not any(isinstance(m, (torch.nn.BatchNorm2d, torch.nn.GroupNorm)) for m in critic.modules())
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in generator.modules()) == 7  # 2 per block + the last


def test_blocks_are_residual():
    block = ResBlock(4, 4)
    for parameter in (block.conv2.weight, block.conv2.bias):
        torch.nn.init.zeros_(parameter)
    x = torch.randn(2, 4, 8, 8)
    torch.testing.assert_close(block(x), x)  # F(x) = 0 leaves the identity shortcut
    assert ResBlock(4, 6, "up")(x).shape == (2, 6, 16, 16) and ResBlock(4, 6, "down")(x).shape == (2, 6, 4, 4)
    with pytest.raises(ValueError, match="resample"):
        ResBlock(4, 4, "sideways")


def test_critic_pools_by_mean_or_by_the_sum_of_miyato_et_al():
    torch.manual_seed(0)
    mean, summed = ResNetCritic((3, 32, 32), channels=8), ResNetCritic((3, 32, 32), channels=8, pooling="sum")
    summed.load_state_dict(mean.state_dict())
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(summed.features(x), mean.features(x) * 64)  # 8 x 8 positions at 32 px
    with pytest.raises(ValueError, match="pooling"):
        ResNetCritic((3, 32, 32), pooling="max")


def test_rejects_an_image_size_it_cannot_build():
    with pytest.raises(ValueError, match="4·2\\^k or 7·2\\^k"):
        ResNetCritic((3, 30, 30))


RESNET = {
    "generator": {"class_path": "zoo.nets.ResNetGenerator", "init_args": {"channels": 8}},
    "discriminator": {"class_path": "zoo.nets.ResNetCritic", "init_args": {"channels": 8}},
}


@pytest.mark.parametrize("name", ["wgangp", "cramergan", "wgan", "dcgan", "fgan"])
def test_every_gan_of_the_family_trains_a_step_with_them(name, tmp_path):
    model = zoo.create(name, image_shape=(3, 32, 32), latent_dim=8, **RESNET)
    assert isinstance(model.generator, ResNetGenerator) and isinstance(model.discriminator, ResNetCritic)
    critic_before = [p.detach().clone() for p in model.discriminator.parameters()]
    trainer = tiny_trainer(tmp_path, max_steps=model.optimizer_steps(1), max_epochs=-1)
    trainer.fit(model, datamodule=synthetic_data(image_shape=(3, 32, 32), num_images=24, batch_size=4))
    assert model.iteration == 1
    critic_after = list(model.discriminator.parameters())  # the critic steps on every batch
    assert any(not torch.equal(b, a) for b, a in zip(critic_before, critic_after))
    assert all(torch.isfinite(p).all() for p in (*model.generator.parameters(), *critic_after))
