"""The shared loop under mixed precision (DDP: tests/test_ddp.py)."""

import pytest
import torch

import zoo
from tests.conftest import synthetic_data, tiny_trainer

SMALL_DCGAN = dict(
    generator={"class_path": "zoo.nets.DCGANGenerator", "init_args": {"base_channels": 8}},
    discriminator={"class_path": "zoo.nets.DCGANDiscriminator", "init_args": {"base_channels": 8}},
)


@pytest.mark.parametrize("name", ["dcgan", "vae"])
def test_bf16_mixed_steps_update_every_network_with_finite_weights(name, tmp_path):
    torch.manual_seed(0)
    model = zoo.create(name, image_shape=(1, 28, 28), **(SMALL_DCGAN if name == "dcgan" else {}))
    before = {k: v.clone() for k, v in model.named_parameters()}
    trainer = tiny_trainer(tmp_path, precision="bf16-mixed", max_epochs=1, limit_train_batches=3)
    trainer.fit(model, datamodule=synthetic_data())
    for key, value in model.named_parameters():
        assert value.dtype == torch.float32, "master weights must stay float32"
        assert torch.isfinite(value).all(), key
    moved = {key.split(".")[0] for key, value in model.named_parameters() if not torch.equal(value, before[key])}
    assert moved == {key.split(".")[0] for key in before}, f"only {moved} were updated"
    for key, value in trainer.logged_metrics.items():
        assert torch.isfinite(value), key


def test_fp16_gradient_scaling_is_undone_exactly_once(tmp_path):
    """16-mixed with a GradScaler (CPU stands in for a GPU here): with plain SGD, each update must equal the fp32
    update; a loss backpropagated without the scaler, or unscaled twice, would be off by the scale (4096)."""
    from lightning.pytorch.plugins.precision import MixedPrecision

    sgd = {"class_path": "torch.optim.SGD", "init_args": {"lr": 0.01}}

    def update_norms(plugins):
        torch.manual_seed(0)
        model = zoo.create("dcgan", image_shape=(1, 28, 28), g_optimizer=sgd, d_optimizer=sgd, **SMALL_DCGAN)
        before = {k: v.clone() for k, v in model.named_parameters()}
        tiny_trainer(tmp_path, plugins=plugins, max_steps=2).fit(model, datamodule=synthetic_data())
        return {k: (v - before[k]).norm() for k, v in model.named_parameters()}

    fp32 = update_norms(None)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**12)
    fp16 = update_norms([MixedPrecision("16-mixed", "cpu", scaler=scaler)])
    assert scaler.get_scale() > 1
    for key in ("generator.net.0.weight", "discriminator.head.weight"):
        assert fp32[key] > 0
        torch.testing.assert_close(fp16[key], fp32[key], rtol=0.02, atol=0)
