"""Build models from plain config dicts and load them back from checkpoints with no config file.

A model's hyper-parameters are stored as the resolved YAML config (nets and optimisers as ``class_path`` /
``init_args``), whether it was built by ``zoo fit`` or by :func:`create`, so :func:`load` rebuilds it exactly.
"""

import importlib
import pickle
from pathlib import Path
from typing import Any

import torch
import yaml
from jsonargparse import ArgumentParser

from zoo.checkpoint_errors import CheckpointError
from zoo.core.base import GenerativeModel, check_resumable
from zoo.core.omitted import OMITTED_KEY, stand_in_for
from zoo.locate import locate, near_misses
from zoo.registry import get_model

_INSTANTIATOR = "lightning.pytorch.cli.instantiate_module"  # lets Lightning's own load_from_checkpoint work too


def create(model: str | type[GenerativeModel], **init_args: Any) -> GenerativeModel:
    """Build a model from its registered name (or class) and YAML-style init args.

    Nets and optimisers are given as ``{"class_path": ..., "init_args": {...}}`` dicts, exactly as in a config:
    ``create("dcgan", image_shape=(1, 28, 28), generator={"class_path": "zoo.nets.DCGANGenerator",
    "init_args": {"base_channels": 32}})``.
    """
    cls = get_model(model).cls if isinstance(model, str) else model
    return _build(cls, init_args)


def _build(cls: type, init_args: dict[str, Any]):
    """Instantiate ``cls`` from YAML-style args and store the resolved config as its hyper-parameters."""
    parser = ArgumentParser(exit_on_error=False)
    parser.add_class_arguments(cls, "target", fail_untyped=False)
    config = parser.parse_object({"target": init_args})
    resolved = yaml.safe_load(parser.dump(config))["target"]
    instance = parser.instantiate(config).target
    instance.save_hyperparameters(
        {"_instantiator": _INSTANTIATOR, "_class_path": f"{cls.__module__}.{cls.__qualname__}", **resolved}
    )
    return instance


def load_datamodule(path: str | Path, **overrides: Any):
    """Rebuild the data module a checkpoint was trained on (``overrides`` replace its init args, e.g. data_dir)."""
    from datamodules import ImageDataModule

    checkpoint = read_checkpoint(path)
    hparams = dict(checkpoint.get("datamodule_hyper_parameters") or {})
    class_path = hparams.pop("_class_path", None) or checkpoint.get("zoo", {}).get("datamodule_class_path")
    hparams.pop("_instantiator", None)
    if class_path is None:
        raise CheckpointError(f"{path} does not record its data module; pass the data explicitly.")
    module_name, _, name = class_path.rpartition(".")
    cls = getattr(importlib.import_module(module_name), name)
    if not (isinstance(cls, type) and issubclass(cls, ImageDataModule)):
        raise CheckpointError(f"{path} names {class_path} as its data, which is not a zoo data module.")
    return _build(cls, {**hparams, **overrides})


def read_checkpoint(path: str | Path, trusted: bool = False) -> dict:
    """``torch.load`` a checkpoint on the CPU, turning every failure into a :class:`CheckpointError` with a fix.

    ``path`` may also be the name of a published checkpoint (``zoo pull --list``) when no such file exists: its
    verified copy is used, downloaded into the cache first if needed. ``trusted`` allows arbitrary pickled objects
    (``torch.load(weights_only=False)``): only for files from a source you trust.
    """
    path = locate(path)
    if path.is_dir():
        raise CheckpointError(f"checkpoint {path} is a folder, not a checkpoint file. Fix: give a .ckpt file, e.g. "
                              f"{path / 'last.ckpt'} (training prints where it saved).")
    if not path.is_file():
        raise CheckpointError(
            f"checkpoint {path} does not exist.{near_misses(path)} Fix: check the path (training prints where it "
            "saved), "
            "or give the name of a published checkpoint (`zoo pull --list`)."
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=not trusted)
    except pickle.UnpicklingError as error:
        if "Unsupported global" not in str(error):
            raise _unreadable(path, error) from error
        raise CheckpointError(
            f"{path} stores Python objects besides weights (e.g. an object of your own passed to a model built "
            "in Python), which are not loaded from untrusted files. Build models with zoo.create(...) or a config "
            "so checkpoints hold plain configs, or, for a file you trust, zoo.load(path, trusted=True)."
        ) from error
    except Exception as error:  # truncated zip, wrong format: the file is not usable
        raise _unreadable(path, error) from error
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(f"{path} holds no model weights (no 'state_dict'); it is not a Lightning checkpoint.")
    return checkpoint


def _unreadable(path: Path, error: Exception) -> CheckpointError:
    cause = "an empty file" if path.stat().st_size == 0 else f"{type(error).__name__}: {str(error).strip()[:200]}"
    return CheckpointError(
        f"{path} is not a readable checkpoint ({cause}): it is probably truncated or corrupt. "
        "Fix: download it again, or use an earlier checkpoint of the run."
    )


def load(path: str | Path, map_location: str | torch.device = "cpu", trusted: bool = False) -> GenerativeModel:
    """Rebuild a model from a checkpoint alone and load its weights; returns it in eval mode.

    >>> model = zoo.load("last.ckpt"); images = model.sample(16)  # (16, C, H, W) in [0, 1]
    >>> model = zoo.load("vae_fashion_mnist")  # a published checkpoint by name (pulled and verified if needed)
    """
    checkpoint = read_checkpoint(path, trusted)
    hparams = dict(checkpoint.get("hyper_parameters") or {})
    class_path = hparams.pop("_class_path", None) or checkpoint.get("zoo", {}).get("class_path")
    hparams.pop("_instantiator", None)
    if class_path is None:
        raise CheckpointError(f"{path} does not say which model it holds (no class path); it was not made by zoo.")
    model = create(_import_model_class(class_path, path), **hparams)
    stand_in_for(model, checkpoint.get("zoo", {}).get(OMITTED_KEY) or [])  # nets a release left out
    try:
        model.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as error:
        raise CheckpointError(f"{path}: the weights do not fit {class_path} built from its hyper-parameters: {error}")
    model.on_load_checkpoint(checkpoint)
    return model.to(map_location).eval()


def is_weights_only(checkpoint: dict) -> bool:
    """Whether a checkpoint holds weights without the training state (a ``zoo publish`` release, or Lightning's
    ``save_weights_only``): no optimiser states to resume."""
    return "optimizer_states" not in checkpoint


def start_from_weights(model: GenerativeModel, checkpoint: dict, source: str | Path) -> None:
    """Load a checkpoint's weights into ``model`` to start a new run from them (fine-tuning): refused, with the
    cause, for another model class or other net shapes (:func:`~zoo.core.base.check_resumable`)."""
    check_resumable(model, checkpoint, source=str(source))
    model.load_state_dict(checkpoint["state_dict"])


def _import_model_class(class_path: str, path: Path) -> type[GenerativeModel]:
    module_name, _, name = class_path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as error:
        raise CheckpointError(f"{path} holds a {class_path}, which this version of zoo cannot import: {error}")
    if not (isinstance(cls, type) and issubclass(cls, GenerativeModel)):
        raise CheckpointError(f"{path} names {class_path}, which is not a zoo model; refusing to build it.")
    return cls
