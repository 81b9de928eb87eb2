"""Training moves the right numbers on a small real Fashion-MNIST subset (fast enough for every test run)."""

import math

from lightning.pytorch import seed_everything

import zoo
from tests.conftest import fashion_mnist, needs_fashion_mnist, tiny_trainer

pytestmark = needs_fashion_mnist


def _evaluate(model, data) -> dict[str, float]:
    return {k: float(v) for k, v in tiny_trainer(".", limit_val_batches=1.0).validate(model, datamodule=data, verbose=False)[0].items()}


def test_vae_negative_elbo_falls(tmp_path):
    seed_everything(0)
    data = fashion_mnist(batch_size=64, train_subset=2048, val_size=512)
    model = zoo.create("vae", latent_dim=8)
    before = _evaluate(model, data)["val/nelbo"]
    tiny_trainer(tmp_path, max_epochs=2).fit(model, datamodule=data)
    after = _evaluate(model, data)
    assert after["val/nelbo"] < 0.6 * before, (before, after)
    assert after["val/kl"] > 1.0, "posterior collapsed: the encoder carries no information"


def test_gan_discriminator_moves_off_chance(tmp_path):
    seed_everything(0)
    data = fashion_mnist(batch_size=64, train_subset=1024, val_size=512)
    small = {"class_path": "zoo.nets.DCGANDiscriminator", "init_args": {"base_channels": 16}}
    model = zoo.create("dcgan", discriminator=small,
                       generator={"class_path": "zoo.nets.DCGANGenerator", "init_args": {"base_channels": 16}})
    before = _evaluate(model, data)
    tiny_trainer(tmp_path, max_steps=2 * 20).fit(model, datamodule=data)  # 20 iterations of D and G
    after = _evaluate(model, data)
    # Untrained, D says 1/2 to everything: its loss is the chance value 2 log 2 (its accuracy only reflects the
    # sign of tiny logits). Trained, it separates held-out real images from fresh samples.
    assert abs(before["val/d/loss"] - 2 * math.log(2)) < 0.05, before
    assert after["val/d/loss"] < 2 * math.log(2) - 0.1, after
    assert after["val/d/accuracy"] > 0.9, after
