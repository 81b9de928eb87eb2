"""The one place where a user error becomes ``zoo: error: <cause>`` + ``fix: <what to do>`` and a non-zero exit.

User errors are those caused by input, not by a bug: zoo's own (:data:`USER_ERRORS`), jsonargparse's parse errors,
Lightning's ``MisconfigurationException``. Torch's rejections of bad arguments are turned into zoo's errors where they
happen (building the classes of a config, building optimisers), so they arrive here as ``ConfigError`` or
``InvalidArgument``. Anything else is a bug and keeps its traceback. ``--debug`` (or ``ZOO_DEBUG=1``) prints the
traceback of user errors too.
"""

import argparse
import os
import re
import sys
import traceback
from pathlib import Path
from typing import NoReturn

from lightning.fabric.utilities.exceptions import MisconfigurationException

import zoo.registry
from datamodules.base import CorruptDatasetError, DataSplitError, DatasetNotFoundError
from zoo.arguments import InvalidArgument
from zoo.checkpoint_errors import CheckpointError
from zoo.config_files import ConfigFileError, shipped_configs
from zoo.core.base import IncompatibleCheckpointError, NonFiniteLossError
from zoo.core.checkpoint_io import CheckpointWriteError
from zoo.names import UnknownName, did_you_mean
from zoo.runs import NoCheckpointToResumeError, OutputFolderError
from zoo.sampling.modes import SamplerNotApplicable
from zoo.sampling.rejection import LowAcceptanceError

DEBUG_FLAG = "--debug"
DEBUG_VARIABLE = "ZOO_DEBUG"


class ConfigError(ValueError):
    """The config parsed, but the model, data or trainer it describes cannot be built (or read)."""


FIXES: dict[type, str] = {
    ConfigFileError: "give a YAML file that maps sections (model:, data:, trainer:) to their settings.",
    ConfigError: "see every valid key and value with `zoo fit --config CONFIG --print_config`.",
    InvalidArgument: "give a value in the range named above (`zoo fit --help` / `zoo COMMAND --help`).",
    CheckpointError: "check the path (training prints where it saved), or name a published one (`zoo pull --list`).",
    DatasetNotFoundError: "see the README's Data section for where each dataset is found.",
    CorruptDatasetError: "delete the file named above; it is fetched or decompressed again on the next run.",
    DataSplitError: "lower --data.init_args.val_size or --data.init_args.batch_size, or use more images.",
    NonFiniteLossError: "lower the learning rate, or resume from an earlier checkpoint.",
    OutputFolderError: "make the folder writable, or choose another output path.",
    CheckpointWriteError: "free disk space or choose another --checkpoint.dirpath, then resume.",
    IncompatibleCheckpointError: "resume with the config the checkpoint was trained with.",
    NoCheckpointToResumeError: "give the checkpoint's path to --ckpt_path.",
    UnknownName: "use one of the names above (`zoo list` shows models and configs).",
    SamplerNotApplicable: "use one of the modes named above (`zoo sample --help`).",
    LowAcceptanceError: "lower --gamma-quantile (a lower quantile accepts more), or use --mode plain.",
    MisconfigurationException: "see the trainer's arguments with `zoo fit --help`.",
    argparse.ArgumentError: "see `zoo fit --help`; `zoo fit --config CONFIG --print_config` shows every valid key.",
}
"""What to do about each kind of user error, when its message does not say already."""

USER_ERRORS = tuple(FIXES)
"""Errors caused by input, not by a bug: printed as one message (cause and fix), without a traceback."""


def with_fix(cause: str, fix: str) -> str:
    """``cause`` followed by a ``fix:`` line: an inline ``Fix: ...`` in ``cause`` moves there, else ``fix``."""
    if re.search(r"(^|\n)fix: ", cause):
        return cause
    head, inline, tail = cause.partition(" Fix: ")
    return f"{head.rstrip()}\nfix: {tail.strip() if inline else fix}"


def explain(error: BaseException) -> str | None:
    """The ``cause`` + ``fix:`` message of a user error, or None for a bug (which keeps its traceback)."""
    if isinstance(error, argparse.ArgumentError):
        return explain_parse_error(str(error))
    for kind, fix in FIXES.items():
        if isinstance(error, kind):
            return with_fix(str(error).strip() or type(error).__name__, fix)
    return None


def explain_parse_error(message: str) -> str:
    """Shorten a config/argument error to its cause and add how to fix it."""
    noise = ("Expected a <class 'NoneType'>", "Subtypes:", "Given value", "Does not validate against any of the Union")
    lines = [line.strip().removeprefix("- ") if line.lstrip().startswith("- ") else line
             for line in message.splitlines() if not any(n in line for n in noise) and line.strip() != "Errors:"]
    lines = [line if len(line) < 300 else line[:300] + " ..." for line in lines]
    text = "\n".join(lines)
    unknown_class = ("has no attribute", "No module named", "not a subclass", "Import path", "dot import path")
    if any(s in text for s in unknown_class) and ("class_path" in text or "dot import path" in text):
        entries = zoo.registry.list_models()
        names = ", ".join(f"{e.name} ({e.class_path})" for e in entries)
        given = re.search(r"dot import path string: (\S+)", text)
        close = did_you_mean(given.group(1).rsplit(".", 1)[-1], [e.cls.__name__ for e in entries]) if given else ""
        hint = f"Unknown class.{close} Registered models: {names}. `zoo list` shows models, data and configs."
    elif any(s in text for s in ("is not accepted", "No action for key", "nrecognized arguments", "not expected")):
        hint = ("A key is not an argument of that class. "
                "See every valid key with `zoo fit --config CONFIG --print_config`.")
    elif "must be" in text:
        hint = "Give that argument a value in the range named above (`zoo fit --help` lists every argument)."
    elif "File does not exist" in text:
        missing = re.search(r"File does not exist: '([^']+)'", text)
        close = did_you_mean(Path(missing.group(1)).name, shipped_configs()) if missing else ""
        hint = f"{close.strip()} Shipped configs (usable by name): {', '.join(sorted(shipped_configs()))}.".lstrip()
    else:
        hint = "See `zoo fit --help` and `zoo fit --config CONFIG --print_config`."
    return with_fix(text, hint)


def debug_requested(words: list[str]) -> tuple[bool, list[str]]:
    """Whether tracebacks of user errors are wanted (``--debug`` among ``words``, or ``ZOO_DEBUG`` set to a true
    value), and ``words`` without the flag."""
    kept = [word for word in words if word != DEBUG_FLAG]
    wanted = len(kept) < len(words) or os.environ.get(DEBUG_VARIABLE, "").lower() in ("1", "true", "yes")
    return wanted, kept


def report(error: BaseException, message: str, debug: bool) -> NoReturn:
    """Print a user error's ``message`` (after its traceback when ``debug``) and exit with status 1."""
    if debug:
        traceback.print_exception(error)
    print(f"zoo: error: {message}", file=sys.stderr, flush=True)
    if not debug:
        print(f"(`{DEBUG_FLAG}` or {DEBUG_VARIABLE}=1 shows the traceback)", file=sys.stderr, flush=True)
    sys.exit(1)
