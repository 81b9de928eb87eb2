"""Which shipped configs train which registered model on which dataset: the models × datasets matrix of ``zoo list``.

A config's model and dataset are read from its ``model`` and ``data`` class paths, not guessed from its file name,
so a config named ``dcgan_improved_cifar10.yaml`` counts under ``dcgan`` × ``cifar10``.
"""

from pathlib import Path

import yaml

from zoo.registry import ModelEntry

DATASETS = {
    "MNISTDataModule": "mnist",
    "FashionMNISTDataModule": "fashion_mnist",
    "CIFAR10DataModule": "cifar10",
    "CelebADataModule": "celeba",
}
"""Data module class name -> the dataset's name in config file names, in the matrix's column order."""


def _class_name(section) -> str:
    return section.get("class_path", "").rsplit(".", 1)[-1] if isinstance(section, dict) else ""


def config_classes(path: Path) -> tuple[str, str]:
    """The class names of a config's ``model`` and ``data`` (``""`` where a section is missing)."""
    config = yaml.safe_load(path.read_text()) or {}
    return _class_name(config.get("model")), _class_name(config.get("data"))


def config_matrix(configs: dict[str, Path], models: list[ModelEntry]) -> dict[str, dict[str, list[str]]]:
    """``{model name: {dataset: [config stems]}}`` for every model and every dataset of :data:`DATASETS`.

    Args:
        configs: config file name -> path (e.g. ``zoo.cli.shipped_configs()``).
        models: the registered models (``zoo.registry.list_models()``).
    """
    by_class = {entry.class_path.rsplit(".", 1)[-1]: entry.name for entry in models}
    matrix = {entry.name: {data: [] for data in DATASETS.values()} for entry in models}
    for name, path in sorted(configs.items()):
        model, data = config_classes(path)
        if model in by_class and data in DATASETS:
            matrix[by_class[model]][DATASETS[data]].append(Path(name).stem)
    return matrix


def variant(stem: str, data: str) -> str:
    """A config's name without its dataset suffix: ``dcgan_improved_cifar10`` -> ``dcgan_improved``."""
    return stem.removesuffix(f"_{data}")
