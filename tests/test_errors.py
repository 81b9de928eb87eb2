"""Bad input stops with a clear error and loses no saved work."""

import pytest
import torch

import zoo
from tests.conftest import synthetic_data, tiny_trainer


def test_nan_loss_stops_before_the_step_and_the_saved_checkpoint_survives(tmp_path):
    model = zoo.create("vae", image_shape=(1, 28, 28))
    trainer = tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=2)
    trainer.fit(model, datamodule=synthetic_data())
    trainer.save_checkpoint(tmp_path / "good.ckpt")
    weights = {k: v.clone() for k, v in model.state_dict().items()}

    model.elbo_terms = lambda x: {"loss": torch.tensor(float("nan"), requires_grad=True)}
    with pytest.raises(zoo.NonFiniteLossError, match="'vae' loss is nan at iteration 2.*learning rate"):
        tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=2).fit(model, datamodule=synthetic_data())
    for key, value in model.state_dict().items():
        assert torch.equal(value, weights[key]), f"{key} was changed by the failed step"
    assert zoo.load(tmp_path / "good.ckpt").iteration == 2


def test_truncated_checkpoint_gives_a_clear_error(tmp_path):
    model = zoo.create("gan", image_shape=(1, 28, 28))
    path = tmp_path / "model.ckpt"
    tiny_trainer(tmp_path, max_steps=2).fit(model, datamodule=synthetic_data())
    model.trainer.save_checkpoint(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(zoo.CheckpointError, match="truncated or corrupt"):
        zoo.load(path)
    with pytest.raises(zoo.CheckpointError, match="does not exist"):
        zoo.load(tmp_path / "missing.ckpt")


class _Opaque:
    """A Python object a checkpoint cannot load safely."""


def test_checkpoint_with_pickled_objects_names_the_cause_and_the_trusted_escape(tmp_path):
    model = zoo.create("vae", image_shape=(1, 28, 28), latent_dim=4)
    path = tmp_path / "opaque.ckpt"
    hparams = {**model.hparams, "extra": _Opaque()}
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": hparams}, path)
    with pytest.raises(zoo.CheckpointError, match=r"Python objects besides weights.*trusted=True"):
        zoo.load(path)
    checkpoint = zoo.checkpoint.read_checkpoint(path, trusted=True)  # the escape hatch for files one trusts
    assert isinstance(checkpoint["hyper_parameters"]["extra"], _Opaque)


def test_unknown_model_name_lists_the_registered_ones():
    with pytest.raises(KeyError, match="registered models: .*dcgan"):
        zoo.create("no_such_model")


def test_image_size_the_nets_cannot_handle():
    with pytest.raises(ValueError, match="30×30 images.*image_size"):
        zoo.create("dcgan", image_shape=(1, 30, 30))


def test_bad_option_values_are_refused_at_construction():
    with pytest.raises(ValueError, match="n_critic"):
        zoo.create("gan", n_critic=0)
    with pytest.raises(ValueError, match="non_saturating"):
        zoo.create("gan", generator_objective="wasserstein")
    with pytest.raises(ValueError, match="likelihood"):
        zoo.create("vae", likelihood="poisson")
