"""A published checkpoint leaves out the nets only training uses (zoo.core.omitted): every model's declaration is
checked against what sampling, encoding and its samplers call; a BiGAN released without its joint discriminator
samples and encodes like the training checkpoint, names the missing net where it is called, and is refused by
``zoo validate`` and ``zoo fit --ckpt_path`` in real processes."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import zoo
from tests.conftest import tiny_trainer
from zoo.checkpoint_errors import CheckpointError
from zoo.cli import main
from zoo.core.omitted import OmittedNet, OmittedNetError, stand_in_for
from zoo.sampling.labels import resolve_labels

REPO = Path(__file__).resolve().parent.parent
MODELS = [entry.name for entry in zoo.list_models()]

TINY_BIGAN = """\
seed_everything: 0
trainer: {{max_steps: 2, enable_progress_bar: false, enable_model_summary: false, logger: false,
          default_root_dir: {root}}}
model:
  class_path: zoo.models.bigan.BiGAN
  init_args:
    latent_dim: 4
    encoder: {{class_path: zoo.nets.ConvEncoder, init_args: {{base_channels: 8}}}}
    generator: {{class_path: zoo.nets.DCGANGenerator, init_args: {{base_channels: 8}}}}
    discriminator: {{class_path: zoo.nets.JointDiscriminator,
                    init_args: {{base_channels: 8, hidden: [32], latent_hidden: [16]}}}}
data:
  class_path: datamodules.SyntheticDataModule
  init_args: {{num_images: 48, num_test_images: 32, val_size: 16, batch_size: 8}}
images: {{every_n_batches: 0}}
"""


@pytest.mark.parametrize("name", MODELS)
def test_sampling_encoding_and_the_samplers_never_call_a_net_declared_training_only(name):
    model = zoo.create(name, image_shape=(1, 28, 28)).eval()
    nets = model.training_only_nets()
    for net in nets:
        assert isinstance(getattr(model, net), torch.nn.Module), f"{name}.{net} is not a net"
    stand_in_for(model, list(nets))
    images = model.sample(4, seed=0)
    assert images.shape == (4, 1, 28, 28)
    x = images * 2 - 1
    condition = (resolve_labels(model, None, 4),) if model.conditional else ()  # a conditional model's labels
    with torch.no_grad():
        for method in ("encode", "reconstruct"):
            if hasattr(model, method):
                getattr(model, method)(x, *condition)
        if "drs" in model.density_samplers():
            assert model.log_density_ratio(x, *condition).shape == (4,)
        if "ddls" in model.density_samplers():
            assert model.energy(x, *condition).shape == (4,)


def test_joint_and_latent_discriminators_are_training_only_and_ratio_estimating_ones_are_kept():
    assert zoo.create("bigan").training_only_nets() == ("discriminator",)
    assert zoo.create("avb").training_only_nets() == ("adversary",)
    assert zoo.create("ebgan").training_only_nets() == ("discriminator",)  # an energy no sampler reads
    assert zoo.create("alpha_gan").training_only_nets() == ("code_discriminator",)
    for name in ("gan", "dcgan", "wgan", "wgangp", "cramergan", "vaegan"):  # DRS/DDLS read D
        assert zoo.create(name).training_only_nets() == (), name
    assert zoo.create("fgan", divergence="total_variation").training_only_nets() == ("discriminator",)


def test_a_stand_in_refuses_to_be_called_by_name_and_a_checkpoint_may_omit_only_declared_nets():
    model = zoo.create("ebgan")
    stand_in_for(model, ["discriminator"])
    assert isinstance(model.discriminator, OmittedNet) and not list(model.discriminator.parameters())
    with pytest.raises(OmittedNetError, match="leaves out its 'discriminator' net.*Fix: train the model yourself"):
        model.discriminator(torch.zeros(1, 1, 28, 28))
    with pytest.raises(OmittedNetError, match="'discriminator'"):
        model.discriminator.encode(torch.zeros(1, 1, 28, 28))  # a method, not only forward
    with pytest.raises(CheckpointError, match="leaves out .*generator.*may omit only none"):
        stand_in_for(zoo.create("gan"), ["generator"])


@pytest.fixture(scope="module")
def released_bigan(tmp_path_factory) -> tuple[Path, Path, Path]:
    """A tiny BiGAN after two steps (training checkpoint), its release without the discriminator, and its config."""
    from datamodules import SyntheticDataModule

    folder = tmp_path_factory.mktemp("bigan")
    config = folder / "bigan.yaml"
    config.write_text(TINY_BIGAN.format(root=folder / "runs"))
    torch.manual_seed(0)
    small = {"class_path": "zoo.nets.JointDiscriminator",
             "init_args": {"base_channels": 8, "hidden": [32], "latent_hidden": [16]}}
    model = zoo.create("bigan", latent_dim=4, discriminator=small,
                       encoder={"class_path": "zoo.nets.ConvEncoder", "init_args": {"base_channels": 8}},
                       generator={"class_path": "zoo.nets.DCGANGenerator", "init_args": {"base_channels": 8}})
    trainer = tiny_trainer(folder, max_steps=2)
    trainer.fit(model, datamodule=SyntheticDataModule(num_images=48, num_test_images=32, val_size=16, batch_size=8))
    trainer.save_checkpoint(folder / "last.ckpt")
    main(["publish", "--ckpt", str(folder / "last.ckpt"), "--name", "tiny_bigan", "--out", str(folder / "rel"),
          "--metrics", "none"])
    main(["publish", "--ckpt", str(folder / "last.ckpt"), "--name", "tiny_bigan_full", "--out", str(folder / "rel"),
          "--metrics", "none", "--with-training-nets"])
    return folder / "last.ckpt", folder / "rel" / "tiny_bigan.ckpt", config


def test_a_release_leaves_out_the_joint_discriminator_and_samples_and_encodes_as_trained(released_bigan):
    trained, released, _ = released_bigan
    stored = torch.load(released, weights_only=True)
    assert stored["zoo"]["omitted_nets"] == ["discriminator"]
    assert not any(k.startswith("discriminator.") for k in stored["state_dict"])
    assert any(k.startswith("encoder.") for k in stored["state_dict"])
    full = released.parent / "tiny_bigan_full.ckpt"
    assert any(k.startswith("discriminator.") for k in torch.load(full, weights_only=True)["state_dict"])
    assert released.stat().st_size < full.stat().st_size

    original, loaded = zoo.load(trained), zoo.load(released)
    assert torch.equal(original.sample(8, seed=1), loaded.sample(8, seed=1))
    x = original.sample(4, seed=2) * 2 - 1
    assert torch.equal(original.encode(x), loaded.encode(x))
    with pytest.raises(OmittedNetError, match="discriminator"):
        loaded.evaluate(x)  # validation needs D

    entry = json.loads((released.parent / "tiny_bigan.entry.json").read_text())["tiny_bigan"]
    assert entry["training"]["omitted_nets"] == ["discriminator"]
    assert "**Left out**: `discriminator`" in (released.parent / "tiny_bigan.md").read_text()


def _zoo(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "zoo.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=180)


@pytest.mark.parametrize("command", ["validate", "fit"])
def test_validating_or_resuming_a_release_is_refused_in_one_message_before_any_work(released_bigan, command):
    _, released, config = released_bigan
    result = _zoo(command, "--config", str(config), "--ckpt_path", str(released), cwd=config.parent)
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "published checkpoint" in result.stderr and "discriminator" in result.stderr
    assert "zoo sample --ckpt" in result.stderr  # the fix
    assert not (config.parent / "runs").exists()  # nothing started
