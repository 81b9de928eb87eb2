"""Registry-driven: every registered model fits a few steps and round-trips its checkpoint with no config file."""

import pytest
import torch

import zoo
from tests.conftest import synthetic_data, tiny_trainer

MODELS = [entry.name for entry in zoo.list_models()]


def test_registry_lists_the_spine_models():
    assert {"vae", "gan", "dcgan"} <= set(MODELS)
    for entry in zoo.list_models():
        assert entry.family and entry.paper, f"{entry.name} needs a family and a paper reference"


@pytest.mark.parametrize("name", MODELS)
def test_model_fits_and_round_trips_its_checkpoint(name, tmp_path):
    torch.manual_seed(0)
    model = zoo.create(name, image_shape=(1, 28, 28))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainer = tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=4)
    trainer.fit(model, datamodule=synthetic_data())
    assert model.iteration == 4
    changed = [k for k, v in model.state_dict().items() if v.is_floating_point() and not torch.equal(v, before[k])]
    assert changed, "training changed no weight"

    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    loaded = zoo.load(path)
    assert type(loaded) is type(model)
    assert loaded.iteration == model.iteration
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    samples = loaded.sample(6, seed=1)
    assert samples.shape == (6, 1, 28, 28)
    assert samples.min() >= 0 and samples.max() <= 1
    assert torch.equal(samples, model.sample(6, seed=1))


@pytest.mark.parametrize("name", MODELS)
def test_sample_is_reproducible_and_leaves_training_mode(name):
    model = zoo.create(name, image_shape=(1, 28, 28)).train()
    first, second = model.sample(4, seed=3), model.sample(4, seed=3)
    assert torch.equal(first, second)
    assert not torch.equal(first, model.sample(4, seed=4))
    assert model.training


def test_encoder_models_reconstruct_in_pixel_range():
    model = zoo.create("vae", image_shape=(1, 28, 28)).eval()
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    recon = model.reconstruct(x)
    assert recon.shape == x.shape and recon.min() >= -1 and recon.max() <= 1
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (3, model.latent_dim)


@pytest.mark.parametrize(
    "cls_path, inherited",
    [("zoo.models.gan.DCGAN", {"n_critic": 3}), ("zoo.models.wgan.WGANGP", {"latent_dim": 12}),
     ("zoo.models.bigan.ALI", {"latent_dim": 12}), ("zoo.models.autoencoder.DenoisingAutoencoder", {"latent_dim": 6})],
)
def test_models_built_in_python_keep_arguments_they_pass_on_to_their_base(cls_path, inherited, tmp_path):
    """Subclasses that only change some defaults take the rest as **kwargs; a checkpoint must still rebuild them."""
    module, name = cls_path.rsplit(".", 1)
    model = getattr(__import__(module, fromlist=[name]), name)(**inherited)
    assert {k: model.hparams[k] for k in inherited} == inherited
    trainer = tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=1)
    trainer.fit(model, datamodule=synthetic_data())
    trainer.save_checkpoint(tmp_path / "m.ckpt")
    loaded = zoo.load(tmp_path / "m.ckpt")
    assert type(loaded) is type(model)
    assert all(getattr(loaded, k, loaded.hparams.get(k)) == v for k, v in inherited.items())
