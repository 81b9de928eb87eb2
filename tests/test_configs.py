"""Every shipped YAML config parses, builds its model for its own data module's image shape, and trains two
iterations on tiny files in the dataset's real on-disk format; every registered model ships a config per dataset."""

import pytest
import yaml

from tests import tiny_datasets
from tests.conftest import REPO, tiny_trainer
from zoo.catalog import DATASETS, config_matrix
from zoo.cli import ZooCLI, shipped_configs
from zoo.registry import list_models

CONFIGS = sorted(p.name for p in (REPO / "configs").glob("*.yaml"))

TINY_DATA = {
    "MNISTDataModule": ["--data.init_args.val_size=4"],  # 30 training images
    "FashionMNISTDataModule": ["--data.init_args.val_size=4"],
    "CIFAR10DataModule": ["--data.init_args.val_size=4"],  # 20 training images
    "CelebADataModule": [],  # 4 training images; the split comes from list_eval_partition.txt
}
"""Overrides each data module needs for the tiny datasets, beside the folder, batch size and workers."""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """One folder holding tiny MNIST, Fashion-MNIST, CIFAR-10 and CelebA in torchvision's layout."""
    root = tmp_path_factory.mktemp("data")
    arrays = tiny_datasets.mnist_arrays()
    tiny_datasets.write_idx_folder(root / "MNIST" / "raw", arrays)
    tiny_datasets.write_idx_folder(root / "FashionMNIST" / "raw", arrays)
    tiny_datasets.write_cifar(root)
    tiny_datasets.write_celeba(root)
    with pytest.MonkeyPatch.context() as patch:
        tiny_datasets.patch_cifar_md5s(patch, root / "cifar-10-batches-py")
        tiny_datasets.patch_celeba_md5s(patch, root / "celeba")
        yield root


pytestmark = pytest.mark.usefixtures("one_thread")  # 90 configs: 4 min with 2 threads on 2 busy cores, 50 s with 1


def test_every_config_in_the_repo_ships_with_the_package():
    assert CONFIGS and set(CONFIGS) <= set(shipped_configs())


def test_every_registered_model_has_a_config_for_every_dataset():
    assert set(TINY_DATA) == set(DATASETS)  # the config test can train on every dataset of the matrix
    matrix = config_matrix({name: REPO / "configs" / name for name in CONFIGS}, list_models())
    missing = [f"{model} × {data}" for model, row in matrix.items() for data, stems in row.items() if not stems]
    assert not missing, f"no shipped config for {', '.join(missing)}"
    assert set(matrix["wae"]["cifar10"]) == {"wae_gan_cifar10", "wae_mmd_cifar10"}  # both WAE variants


@pytest.mark.parametrize("name", CONFIGS)
def test_config_instantiates_and_trains_on_tiny_files(name, data_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = REPO / "configs" / name
    config = yaml.safe_load(path.read_text())
    data_class = config["data"]["class_path"].rsplit(".", 1)[-1]
    assert config["model"]["class_path"] and data_class in TINY_DATA
    assert config["trainer"]["logger"]["init_args"]["name"] == path.stem, "runs/<name> should match the file name"

    tiny = [f"--data.init_args.data_dir={data_dir}", "--data.init_args.batch_size=2", "--data.init_args.download=false"]
    tiny += ["--data.init_args.num_workers=0", *TINY_DATA[data_class]]
    cli = ZooCLI(args=["--config", str(path), "--trainer.logger=false", *tiny], run=False)
    model, data = cli.model, cli.datamodule
    assert model.image_shape == data.image_shape
    trainer = tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=2)  # fp32: bf16 on CPU is slower at batch 2
    trainer.fit(model, datamodule=data)
    assert model.iteration == 2
    samples = model.sample(2, seed=0)
    assert samples.shape == (2, *data.image_shape) and 0 <= samples.min() <= samples.max() <= 1
