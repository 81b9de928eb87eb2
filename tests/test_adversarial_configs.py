"""The adversarial family's shipped configs: MNIST and Fashion-MNIST for every model, the papers' image datasets for
WGAN, WGAN-GP and BEGAN (tests/test_configs.py builds and trains every config)."""

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
