"""The one place where a user error becomes ``zoo: error: <cause>`` + ``fix: <what to do>`` and a non-zero exit.

User errors are those caused by input, not by a bug: zoo's own (:data:`USER_ERRORS`), jsonargparse's parse errors,
Lightning's ``MisconfigurationException``. Torch's rejections of bad arguments are turned into zoo's errors where they
happen (building the classes of a config, building optimisers), so they arrive here as ``ConfigError`` or
``InvalidArgument``. Anything else is a bug and keeps its traceback. ``--debug`` (or ``ZOO_DEBUG=1``) prints the
traceback of user errors too.
"""

import argparse
import importlib
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
    wrong_type = not_a_number(message)
    if wrong_type:
        return wrong_type
    noise = ("Expected a <class 'NoneType'>", "Subtypes:", "Given value", "Does not validate against any of the Union")
    lines = [line.strip().removeprefix("- ") if line.lstrip().startswith("- ") else line
             for line in message.splitlines() if not any(n in line for n in noise) and line.strip() != "Errors:"]
    lines = [line if len(line) < 300 else line[:300] + " ..." for line in lines]
    text = "\n".join(lines)
    unknown_class = ("has no attribute", "No module named", "not a subclass", "Import path", "dot import path")
    if any(s in text for s in unknown_class) and ("class_path" in text or "dot import path" in text):
        hint = unknown_class_hint(message)
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


def parser_key(message: str) -> str:
    """The dotted key that jsonargparse's nested ``Parser key "..."`` lines in ``message`` lead to, with
    ``init_args`` where the path enters a class (``model.init_args.g_optimizer.init_args.lr``)."""
    parts = re.split(r'Parser key "([^"]+)"', message)  # [before, key, between, key, ...]
    key = ""
    for between, name in zip(parts[0::2], parts[1::2]):
        key += ("" if not key else ".init_args." if re.search(r"class_path|callable class", between) else ".") + name
    return key


def not_a_number(message: str) -> str | None:
    """``KEY must be a number, got 'VALUE'`` with its fix, for a value of a key that takes only numbers (jsonargparse
    then also tries it as a class path, which misleads); None for other errors."""
    expected = re.search(r"Expected a <class '(int|float)'>", message)
    if expected is None:
        return None
    inner = message[message.rfind('Parser key "', 0, expected.start()):]  # the innermost key's errors
    kinds = set(re.findall(r"Expected a <class '(\w+)'>", inner))
    if "Expected a typing.Literal" in inner or not kinds <= {"int", "float", "NoneType"}:
        return None  # it takes names or other types too: the parser's own message says which
    given = re.search(r"(?:Given|Got) value: (.*?)(?:\. Got value: .*)?$", inner, re.M)
    kind, example = ("a number", "0.001 or 1e-3") if "float" in kinds else ("an integer", "64")
    key = parser_key(message[:expected.start()])
    return with_fix(f"{key} must be {kind}, got {given.group(1) if given else 'something else'!r}",
                    f"give {kind}, e.g. --{key} {example}; `zoo fit --config CONFIG --print_config` shows every key.")


def unknown_class_hint(message: str) -> str:
    """What to write instead of a class path that does not import (the innermost one in ``message``: a net's or
    optimiser's comes after its model's): the close classes, and the registered models where a model is meant."""
    given = re.findall(r"(?:dot import path string: |given class_path '|Expected a path but )([\w.]+)", message)
    key = parser_key(message)
    close = did_you_mean(given[-1], class_candidates(given[-1], model=key == "model")) if given else ""
    if key != "model":  # a net, an optimiser, the data, a callback
        return f"Unknown class.{close} `zoo fit --config CONFIG --print_config` shows the classes a config uses."
    names = ", ".join(f"{e.name} ({e.class_path})" for e in zoo.registry.list_models())
    return f"Unknown class.{close} Registered models: {names}. `zoo list` shows models, data and configs."


def class_candidates(path: str, model: bool) -> list[str]:
    """The class paths a mistyped ``path`` may have meant: the classes of its module where that imports (only the
    registered models among them for a ``model``), else (for a ``model``) the registered models' class paths, or
    their class names for a bare name."""
    entries = zoo.registry.list_models()
    module_name = path.rpartition(".")[0]
    try:
        module = importlib.import_module(module_name) if module_name else None
    except Exception:  # a mistyped module (or one that fails to import): judged by the name alone
        module = None
    if module is not None:
        return [f"{module_name}.{name}" for name, value in vars(module).items() if isinstance(value, type)
                and (not model or value in {e.cls for e in entries})]
    if not model:
        return []
    return [e.class_path for e in entries] if module_name else [e.cls.__name__ for e in entries]


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
