"""Where a run writes, and where the newest checkpoint of a config's runs is.

- Every logger whose ``save_dir`` is not given writes under ``--trainer.default_root_dir`` (zoo's default: ``runs``),
  so that one argument moves logs, images and checkpoints together.
- A run's version folder (``<save_dir>/<name>/version_<n>``) is claimed with an atomic ``mkdir`` before training, so
  runs started at the same moment into one folder never share one (loggers only list the folders that exist).
- ``--ckpt_path last`` means the newest ``last.ckpt`` among the runs of that config (Lightning itself looks only in
  the new run's own, still empty, folder).
"""

import inspect
import os
from importlib import import_module
from pathlib import Path

from jsonargparse import Namespace



class OutputFolderError(PermissionError):
    """An output folder (logs, images, checkpoints) cannot be written; found before any training."""


TRAINING_FOLDER_FIX = ("Nothing was trained. Fix: make it writable, or choose another folder with "
                       "--trainer.default_root_dir DIR (checkpoints alone: --checkpoint.dirpath DIR).")


def check_writable(folder: str | Path, advice: str = TRAINING_FOLDER_FIX) -> None:
    """Create ``folder`` if needed and write a probe file into it; :class:`OutputFolderError` names it (and gives
    ``advice``) if that fails."""
    folder = Path(folder)
    probe = folder / f".zoo-write-test.{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as error:
        raise OutputFolderError(
            f"cannot write to the output folder {folder} ({error.strerror or error}). {advice}"
        ) from None


def check_output_file(path: str | Path, flag: str) -> None:
    """Refuse, before any work, an output file ``path`` (given as ``flag``) that is a folder or cannot be written."""
    advice = f"Nothing was computed. Fix: give {flag} a file in a folder you can write to."
    if Path(path).is_dir():
        raise OutputFolderError(f"{flag} {path} is a folder, not a file. {advice}")
    check_writable(Path(path).parent, advice)
    if Path(path).exists() and not os.access(path, os.W_OK):
        raise OutputFolderError(f"{flag} {path} exists and cannot be overwritten. {advice}")


class NoCheckpointToResumeError(FileNotFoundError):
    """``--ckpt_path last`` found no checkpoint among the config's runs."""


def launched_as_global_rank_zero() -> bool:
    """Whether this process will be global rank 0, judged before Lightning starts (from the launchers' variables:
    torchrun's ``RANK``, SLURM's ``SLURM_PROCID``, Lightning's ``NODE_RANK`` / ``LOCAL_RANK``)."""
    return all(os.environ.get(name, "0") == "0" for name in ("RANK", "NODE_RANK", "GROUP_RANK", "LOCAL_RANK")) and (
        os.environ.get("SLURM_PROCID", "0") == "0" or "SLURM_NTASKS" not in os.environ
    )


def loggers_of(trainer_config: Namespace) -> list[Namespace]:
    """The logger configs (``class_path`` / ``init_args``) of a parsed trainer config."""
    logger = trainer_config.get("logger")
    loggers = logger if isinstance(logger, list) else [logger]
    return [entry for entry in loggers if isinstance(entry, Namespace) and "class_path" in entry]


def place_logs(trainer_config: Namespace, claim_version: bool) -> None:
    """Point loggers without a ``save_dir`` of their own at ``default_root_dir`` and, when ``claim_version``, claim a
    fresh version folder for each versioned logger (see the module docstring)."""
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    root = trainer_config.get("default_root_dir") or os.getcwd()
    for logger in loggers_of(trainer_config):
        init_args = logger.get("init_args") or Namespace()
        logger.init_args = init_args
        cls = _import(logger.class_path)
        if init_args.get("save_dir") in (None, _default_save_dir(cls)):
            init_args.save_dir = str(root)
        versioned = isinstance(cls, type) and issubclass(cls, (CSVLogger, TensorBoardLogger))
        if claim_version:
            check_writable(init_args.save_dir)
            if versioned and init_args.get("version") is None:
                init_args.version = claim_next_version(Path(init_args.save_dir) / str(init_args.get("name") or ""))


_claimed: list[Path] = []  # folders this process created for its runs, in order


def claim_next_version(folder: Path) -> int:
    """Create ``folder/version_<n>`` for the smallest free n, atomically (``mkdir`` fails if it exists); returns n."""
    if not folder.exists():
        folder.mkdir(parents=True)
        _claimed.append(folder)
    existing = [int(p.name.split("_")[1]) for p in folder.glob("version_*") if p.name.split("_")[1].isdigit()]
    version = max(existing, default=-1) + 1
    while True:
        try:
            (folder / f"version_{version}").mkdir()
            _claimed.append(folder / f"version_{version}")
            return version
        except FileExistsError:
            version += 1


def release_unused_versions() -> None:
    """Remove the folders this process claimed and never wrote into (a run refused before any work), newest first,
    so that a refused command leaves nothing behind; a folder with anything in it is kept."""
    while _claimed:
        try:
            _claimed.pop().rmdir()  # only succeeds on an empty folder
        except OSError:
            pass


def _import(class_path: str):
    module, _, name = class_path.rpartition(".")
    try:
        return getattr(import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        return None


def _default_save_dir(cls):
    """The ``save_dir`` a logger class uses when none is given (e.g. W&B's ``"."``), or None."""
    try:
        parameter = inspect.signature(cls).parameters.get("save_dir")
    except (TypeError, ValueError):
        return None
    return parameter.default if parameter is not None and parameter.default is not inspect.Parameter.empty else None


def newest_last_checkpoint(trainer) -> Path:
    """The most recently written ``last*.ckpt`` of the runs that ``trainer``'s checkpoint callback and first logger
    point at: ``<save_dir>/<name>/*/checkpoints/`` (or the callback's fixed ``dirpath``)."""
    callback = trainer.checkpoint_callback
    if callback is not None and callback.dirpath is not None:
        folders = [Path(callback.dirpath)]
        where = str(callback.dirpath)
    elif trainer.loggers:
        logger = trainer.loggers[0]
        runs = Path(logger.save_dir or trainer.default_root_dir) / str(logger.name or "")
        folders = [*runs.glob("*/checkpoints"), runs / "checkpoints"]
        where = str(runs / "*" / "checkpoints")
    else:
        folders = [Path(trainer.default_root_dir) / "checkpoints"]
        where = str(folders[0])
    candidates = [path for folder in folders for path in folder.glob("last*.ckpt") if path.is_file()]
    if not candidates:
        raise NoCheckpointToResumeError(
            f"--ckpt_path last: no last.ckpt in {where}. Fix: give the checkpoint's path, or check "
            "--trainer.default_root_dir and the logger's name (they decide where the config's runs are)."
        )
    return max(candidates, key=lambda path: path.stat().st_mtime)
