"""The adversarial family's shipped configs: the papers' settings where a test can read them (tests/test_configs.py
checks that every model has a config per dataset and builds and trains every config)."""

import pytest
import yaml

import zoo
from tests.conftest import REPO

CONFIGS = REPO / "configs"
MODELS = ["wgan", "wgangp", "fgan", "cramergan", "ebgan", "began", "sngan", "lsgan", "dragan"]


@pytest.mark.parametrize("name", MODELS)
def test_every_model_has_mnist_and_fashion_mnist_configs(name):
    for data in ("mnist", "fashion_mnist"):
        config = yaml.safe_load((CONFIGS / f"{name}_{data}.yaml").read_text())
        assert config["model"]["class_path"] == zoo.get_model(name).class_path
        assert config["trainer"]["logger"]["init_args"]["name"] == f"{name}_{data}"


@pytest.mark.parametrize("name", ["wgan", "wgangp", "began", "sngan", "lsgan", "dragan"])
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


def test_sngan_cifar10_is_the_papers_resnet_setting():
    """Miyato et al. 2018: the residual nets (G 256 channels, D 128 with a global sum), hinge loss, spectral norm on
    D, n_dis = 5, Adam(2e-4, betas (0, 0.9))."""
    init = yaml.safe_load((CONFIGS / "sngan_cifar10.yaml").read_text())["model"]["init_args"]
    assert init["generator"] == {"class_path": "zoo.nets.ResNetGenerator",
                                 "init_args": {"channels": 256, "norm": "batch"}}
    assert init["discriminator"] == {"class_path": "zoo.nets.ResNetCritic",
                                     "init_args": {"channels": 128, "norm": "none", "pooling": "sum"}}
    assert (init["loss"], init["n_critic"], init["techniques"]) == ("hinge", 5, {"spectral_norm": True})
    for player in ("g_optimizer", "d_optimizer"):
        assert init[player]["init_args"] == {"lr": 0.0002, "betas": [0.0, 0.9]}


@pytest.mark.parametrize("data", ["mnist", "fashion_mnist", "cifar10", "celeba"])
def test_sngan_normalises_a_discriminator_without_normalisation_layers_and_dragan_keeps_batch_norm_out(data):
    sngan = yaml.safe_load((CONFIGS / f"sngan_{data}.yaml").read_text())["model"]["init_args"]
    assert sngan["techniques"]["spectral_norm"] and sngan["discriminator"]["init_args"]["norm"] == "none"
    dragan = yaml.safe_load((CONFIGS / f"dragan_{data}.yaml").read_text())["model"]["init_args"]
    assert dragan["gp_weight"] == 10.0 and dragan["discriminator"]["init_args"]["norm"] == "layer"
    lsgan = yaml.safe_load((CONFIGS / f"lsgan_{data}.yaml").read_text())["model"]["init_args"]
    assert lsgan["least_squares_coding"] == [0.0, 1.0, 1.0]
