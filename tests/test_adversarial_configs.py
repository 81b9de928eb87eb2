"""The adversarial family's shipped configs: the papers' settings where a test can read them (tests/test_configs.py
checks that every model has a config per dataset and builds and trains every config)."""

import pytest
import yaml

import zoo
from tests.conftest import REPO

CONFIGS = REPO / "configs"
MODELS = ["wgan", "wgangp", "fgan", "cramergan", "ebgan", "began"]


@pytest.mark.parametrize("name", MODELS)
def test_every_model_has_mnist_and_fashion_mnist_configs(name):
    for data in ("mnist", "fashion_mnist"):
        config = yaml.safe_load((CONFIGS / f"{name}_{data}.yaml").read_text())
        assert config["model"]["class_path"] == zoo.get_model(name).class_path
        assert config["trainer"]["logger"]["init_args"]["name"] == f"{name}_{data}"


@pytest.mark.parametrize("name", ["wgan", "wgangp", "began"])
def test_papers_image_datasets_have_configs(name):
    for data, module in (("cifar10", "CIFAR10DataModule"), ("celeba", "CelebADataModule")):
        config = yaml.safe_load((CONFIGS / f"{name}_{data}.yaml").read_text())
        assert config["data"]["class_path"] == f"datamodules.{module}"
        assert config["trainer"]["precision"] == "bf16-mixed"


def test_improved_techniques_config_sets_them():
    config = yaml.safe_load((CONFIGS / "dcgan_improved_cifar10.yaml").read_text())
    assert config["model"]["init_args"]["techniques"]["minibatch_kernels"] > 0
    assert config["model"]["init_args"]["real_label"] < 1


@pytest.mark.parametrize("name", ["wgangp", "cramergan"])
def test_cifar10_configs_use_the_residual_nets_of_gulrajani_et_al(name):
    init = yaml.safe_load((CONFIGS / f"{name}_cifar10.yaml").read_text())["model"]["init_args"]
    assert init["generator"]["class_path"] == "zoo.nets.ResNetGenerator"
    assert init["discriminator"]["class_path"] == "zoo.nets.ResNetCritic"
    assert init["discriminator"]["init_args"] == {"channels": 128, "norm": "none"} and init["n_critic"] == 5
