"""Property-based fuzzing of bad input: every numeric or choice argument of every zoo command, of every registered
model's constructor and of the data modules, given a bad value (0, negatives, NaN, inf, huge, wrong types, unknown
names), ends with a non-zero exit, a short message naming the cause, no traceback, and any checkpoint it was given
unchanged.

The targets are read from the code (the ranges declared in signatures, the commands' parsers, the registry), so a
new model, argument or command is fuzzed with no new test code. Most examples call ``zoo.cli.main`` in-process (the
same code the ``zoo`` command runs); a few run the real command in a subprocess. ``make test`` runs few examples;
the ``slow`` variants explore more.
"""

import hashlib
import inspect
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import datamodules
import zoo
from tests.conftest import run_in_process
from zoo.arguments import declared_ranges
from zoo.commands import COMMANDS
from zoo.core.base import _constructor_arguments
from zoo.errors import explain
from zoo.registry import list_models

MAX_LINES = 6
REPO = Path(__file__).resolve().parent.parent
DATA_MODULES = [datamodules.SyntheticDataModule, datamodules.MNISTDataModule, datamodules.FashionMNISTDataModule,
                datamodules.CIFAR10DataModule, datamodules.CelebADataModule]
NOT_CHOICES = {"data_dir", "system_dir"}  # str arguments that are paths, not names from a list
FAST = dict(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
TINY_FIT = ["fit", "--data=SyntheticDataModule", "--data.init_args.num_images=48", "--data.init_args.val_size=16",
            "--data.init_args.batch_size=8", "--trainer.max_steps=1", "--trainer.logger=false",
            "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]


# --- what is fuzzed: read from the code ---------------------------------------------------------------------------

def constructor_targets(cls: type) -> list[tuple[str, object]]:
    """``(argument, (kind, range) or "choice")`` for every numeric or choice argument ``cls(...)`` accepts."""
    ranges = declared_ranges(cls)
    accepted = _constructor_arguments(cls)
    annotations = {}
    for klass in reversed(cls.__mro__):
        if "__init__" in vars(klass):
            annotations.update({p.name: p.annotation for p in inspect.signature(klass.__init__).parameters.values()})
    targets = [(name, ranges[name]) for name in sorted(accepted) if name in ranges]
    targets += [(name, "choice") for name in sorted(accepted)
                if annotations.get(name) is str and name not in NOT_CHOICES]
    return targets


MODEL_TARGETS = [(entry.name, entry.cls, name, spec) for entry in list_models()
                 for name, spec in constructor_targets(entry.cls)]
DATA_TARGETS = [(cls, name, spec) for cls in DATA_MODULES for name, spec in constructor_targets(cls)]


def command_targets() -> list[tuple[str, str, object]]:
    """``(command, flag, spec)`` for every option of every zoo command with a typed range or a set of choices."""
    targets = []
    for command, module in COMMANDS.items():
        for action in module.parser()._actions:
            flag = next((o for o in action.option_strings if o.startswith("--")), None)
            if flag is None:
                continue
            if hasattr(action.type, "range"):
                targets.append((command, flag, (action.type.kind, action.type.range)))
            elif hasattr(action.type, "choices") or action.choices:
                targets.append((command, flag, "choice"))
    return targets


COMMAND_TARGETS = command_targets()


def bad_values(spec, textual: bool = False) -> st.SearchStrategy:
    """Values outside ``spec``: below or above its range, NaN, ±inf, fractions for integers and wrong types; for a
    choice, names no list holds. ``textual``: as command-line words."""
    if spec == "choice":
        return st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).map(lambda s: "no_such_" + s)
    kind, allowed = spec
    options = [st.sampled_from([math.nan, math.inf, -math.inf]), st.sampled_from(["abc", "[1, 2]", "{}", "1e3x"])]
    if allowed.low is not None:
        if kind is int:
            options.append(st.integers(max_value=math.ceil(allowed.low) - 1, min_value=-(10**12)))
        else:
            options.append(st.floats(max_value=allowed.low, min_value=-1e30, allow_nan=False)
                           .filter(lambda v: v < allowed.low or (allowed.low_open and v == allowed.low)))
    if allowed.high is not None:
        if kind is int:
            options.append(st.integers(min_value=math.floor(allowed.high) + 1, max_value=10**30))
        else:
            options.append(st.floats(min_value=allowed.high, max_value=1e30, allow_nan=False)
                           .filter(lambda v: v > allowed.high or (allowed.high_open and v == allowed.high)))
    if kind is int:
        options.append(st.floats(-1e6, 1e6).filter(lambda v: not v.is_integer()))
    values = st.one_of(options)
    return values.map(lambda v: repr(v) if isinstance(v, float) and math.isfinite(v) else str(v)) if textual else values


# --- how an outcome is judged ------------------------------------------------------------------------------------

def zoo_lines(stderr: str) -> list[str]:
    """stderr from the ``zoo: error:`` line on (Lightning's and Python's warnings before it are not zoo's)."""
    lines = stderr.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("zoo: error:")), 0)
    return [line for line in lines[start:] if line.strip()]


def assert_refused(code: int, stderr: str, names: str | None = None) -> None:
    """A non-zero exit with a short ``zoo: error`` message (naming ``names`` if given) and no traceback."""
    lines = zoo_lines(stderr)
    assert code != 0, stderr
    assert "Traceback" not in stderr, stderr
    assert lines and lines[0].startswith("zoo: error:"), stderr
    assert any(line.startswith("fix:") for line in lines), stderr
    assert len(lines) <= MAX_LINES, stderr
    if names is not None:
        assert names in "\n".join(lines), stderr


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A small VAE checkpoint (weights and the config that rebuilds it)."""
    model = zoo.create("vae", latent_dim=4)
    path = tmp_path_factory.mktemp("fuzz") / "vae.ckpt"
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams)}, path)
    return path


# --- the registry is fuzzed completely ---------------------------------------------------------------------------

def test_every_numeric_constructor_argument_declares_its_range():
    """A numeric argument without a declared range would escape both the checks and this fuzzing."""
    for cls in [entry.cls for entry in list_models()] + DATA_MODULES:
        ranges = declared_ranges(cls)
        for name in _constructor_arguments(cls):
            annotation = next(inspect.signature(k.__init__).parameters[name].annotation for k in cls.__mro__
                              if "__init__" in vars(k) and name in inspect.signature(k.__init__).parameters)
            if annotation in (int, float, int | None, float | None):
                assert name in ranges, f"{cls.__name__}.{name} is numeric but declares no range (zoo.arguments)"
    assert len(MODEL_TARGETS) > 60 and len(DATA_TARGETS) > 20 and len(COMMAND_TARGETS) > 15


# --- constructors, in Python: zoo.create and the data modules ----------------------------------------------------

def _refused_in_python(build, name: str) -> None:
    with pytest.raises(Exception) as raised:
        build()
    message = explain(raised.value)
    assert message is not None, f"{type(raised.value).__name__} is not a user error: {raised.value}"
    assert name in message and len(message.splitlines()) <= MAX_LINES, message


@pytest.mark.parametrize("model, cls, name, spec", MODEL_TARGETS, ids=[f"{t[0]}.{t[2]}" for t in MODEL_TARGETS])
@settings(max_examples=3, **FAST)
@given(data=st.data())
def test_bad_model_hyper_parameters_are_refused_by_name(model, cls, name, spec, data):
    value = data.draw(bad_values(spec), label=name)
    _refused_in_python(lambda: zoo.create(model, **{name: value}), name)


@pytest.mark.parametrize("cls, name, spec", DATA_TARGETS, ids=[f"{t[0].__name__}.{t[1]}" for t in DATA_TARGETS])
@settings(max_examples=3, **FAST)
@given(data=st.data())
def test_bad_data_module_arguments_are_refused_by_name(cls, name, spec, data):
    value = data.draw(bad_values(spec), label=name)
    _refused_in_python(lambda: cls(**{name: value}), name)


# --- the zoo command, in-process -----------------------------------------------------------------------------------

def _fit_argv(target) -> st.SearchStrategy:
    """``zoo fit`` words with one bad model, data or trainer value."""
    kind, *rest = target
    if kind == "model":
        entry, name, spec = rest
        return bad_values(spec, textual=True).map(
            lambda v: [*TINY_FIT, f"--model={entry.class_path}", f"--model.init_args.{name}={v}"])
    if kind == "data":
        name, spec = rest
        return bad_values(spec, textual=True).map(lambda v: [*TINY_FIT, "--model=VAE", f"--data.init_args.{name}={v}"])
    flag, values = rest
    return st.sampled_from(values).map(lambda v: [*TINY_FIT, "--model=VAE", f"{flag}={v}"])


TRAINER_MISTAKES = [  # Lightning's and torch's own rejections
    ("trainer", "--trainer.max_epochs", ["-5", "-2"]),
    ("trainer", "--trainer.max_steps", ["-7"]),
    ("trainer", "--trainer.limit_train_batches", ["-1", "-0.5", "2.5"]),
    ("trainer", "--trainer.accelerator", ["no_such_device"]),
    ("trainer", "--trainer.precision", ["13-mixed"]),
    ("trainer", "--model.init_args.optimizer.lr", ["-1", "-0.001"]),
]
FIT_TARGETS = ([("model", e, n, s) for e in list_models() for n, s in constructor_targets(e.cls)]
               + [("data", n, s) for n, s in constructor_targets(datamodules.SyntheticDataModule)] + TRAINER_MISTAKES)


def _optimiser(argv: list[str]) -> list[str]:
    if any(word.startswith("--model.init_args.optimizer.") for word in argv):
        return [*argv[:-1], "--model.init_args.optimizer=torch.optim.Adam", argv[-1]]
    return argv


def check_fit_refuses(data, root: Path) -> None:
    target = data.draw(st.sampled_from(FIT_TARGETS), label="target")
    argv = _optimiser(data.draw(_fit_argv(target), label="argv"))
    code, stderr = run_in_process([*argv[:-1], f"--trainer.default_root_dir={root}", argv[-1]])
    assert_refused(code, stderr)


@settings(max_examples=25, **FAST)
@given(data=st.data())
def test_zoo_fit_refuses_bad_values_in_one_short_message(data, tmp_path):
    check_fit_refuses(data, tmp_path)


def check_command_refuses(data, checkpoint: Path, out: Path) -> None:
    command, flag, spec = data.draw(st.sampled_from(COMMAND_TARGETS), label="target")
    value = data.draw(bad_values(spec, textual=True), label=flag)
    before = sha256(checkpoint)
    required = {"sample": ["--ckpt", str(checkpoint), "--out", str(out)], "evaluate": ["--ckpt", str(checkpoint)],
                "publish": ["--ckpt", str(checkpoint), "--name", "x", "--out", str(out.parent / "release")],
                "train-classifier": ["--out", str(out.with_suffix(".pt"))]}.get(command, [])
    code, stderr = run_in_process([command, *required, f"{flag}={value}"])
    assert_refused(code, stderr, names=flag)
    assert sha256(checkpoint) == before
    assert not out.exists() and not out.with_suffix(".pt").exists()


@settings(max_examples=30, **FAST)
@given(data=st.data())
def test_zoo_commands_refuse_bad_values_and_leave_the_checkpoint_alone(data, checkpoint, tmp_path):
    check_command_refuses(data, checkpoint, tmp_path / "out.png")


HUGE = [  # impossible memory requests: refused before allocating, naming the argument and the cost
    (["sample", "--n", "100000000000"], "--n 100000000000"),
    (["sample", "--mode", "interpolate", "--n", "1000000", "--steps", "1000000"], "--n 1000000"),
    (["evaluate", "--n", "10000000000000"], "--n 10000000000000"),
    ([*TINY_FIT, "--model=VAE", "--model.init_args.latent_dim=1000000000000"], "latent_dim=1000000000000"),
    ([*TINY_FIT, "--model=VAE", "--data.init_args.image_size=10000000"], "image_size=10000000"),
    ([*TINY_FIT, "--model=VAE", "--data.init_args.num_images=100000000000000"], "num_images=100000000000000"),
]


@pytest.mark.parametrize("argv, names", HUGE, ids=[h[1] for h in HUGE])
def test_impossible_memory_requests_are_refused_with_their_cost(argv, names, checkpoint, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if argv[0] in ("sample", "evaluate"):
        argv = [argv[0], "--ckpt", str(checkpoint), *argv[1:]]
    code, stderr = run_in_process(argv)
    assert_refused(code, stderr, names=names)
    assert "of memory; this machine has" in stderr


# --- Lightning's other subcommands and the Python API ----------------------------------------------------------------

def bad_checkpoints(folder: Path, checkpoint: Path) -> st.SearchStrategy:
    """Paths and names that are no readable checkpoint: missing files, misspelt names, folders, truncated files."""

    def truncated(cut: int) -> str:
        path = folder / f"cut{cut}.ckpt"
        path.write_bytes(checkpoint.read_bytes()[:cut])
        return str(path)

    names = st.text("abcdefghijklmnopqrstuvwxyz_.", min_size=1, max_size=20).map(lambda s: "no_such_" + s)
    return st.one_of(names, st.just(str(folder)), st.integers(0, 4000).map(truncated),
                     st.sampled_from(["vae_fashon_mnist", "dcgan_fashion_mnsit.ckpt"]))


@pytest.mark.parametrize("command", ["validate", "test", "predict"])
@settings(max_examples=4, **FAST)
@given(data=st.data())
def test_validate_test_predict_refuse_bad_checkpoints_in_one_message(command, data, checkpoint, tmp_path_factory):
    folder = tmp_path_factory.mktemp(command)
    path = data.draw(bad_checkpoints(folder, checkpoint), label="ckpt_path")
    code, stderr = run_in_process([command, *TINY_FIT[1:], "--model=VAE", f"--trainer.default_root_dir={folder}",
                                   "--ckpt_path", path])
    assert_refused(code, stderr)


def _python_refuses(call) -> str:
    """``call()`` raises a user error (explained in zoo's one format, short); its message."""
    with pytest.raises(Exception) as raised:
        call()
    message = explain(raised.value)
    assert message is not None, f"{type(raised.value).__name__} is not a user error: {raised.value}"
    assert len(message.splitlines()) <= MAX_LINES, message
    return message


@settings(max_examples=15, **FAST)
@given(data=st.data())
def test_python_entry_points_refuse_bad_input_with_one_message(data, checkpoint, tmp_path_factory):
    folder = tmp_path_factory.mktemp("api")
    entry = data.draw(st.sampled_from(["load", "create", "sample"]), label="entry point")
    if entry == "load":
        _python_refuses(lambda: zoo.load(data.draw(bad_checkpoints(folder, checkpoint), label="path")))
    elif entry == "create":
        name = data.draw(st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).map(lambda s: "x" + s))
        assert "unknown model" in _python_refuses(lambda: zoo.create(name))
    else:
        n = data.draw(st.one_of(st.integers(max_value=0, min_value=-(10**12)), st.integers(10**13, 10**30),
                                st.sampled_from([math.nan, 2.5, "4", None, True])), label="n")
        model = zoo.load(checkpoint)
        assert "n" in _python_refuses(lambda: model.sample(n))


# --- the real command, in a few subprocesses ---------------------------------------------------------------------

def run_zoo(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``python -m zoo.cli ARGS`` with this checkout's code first on the path."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "zoo.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_zoo_process_exits_non_zero_with_one_message(checkpoint, tmp_path):
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(checkpoint.read_bytes()[:5000])
    before = sha256(truncated)
    cases = [
        (["sample", "--ckpt", str(checkpoint), "--n", "0"], "--n"),
        ([*TINY_FIT, "--model=VAE", "--model.init_args.beta=-2"], "beta"),
        ([*TINY_FIT, "--model=VAE", "--ckpt_path", str(truncated)], "truncated or corrupt"),
    ]
    for args, names in cases:
        result = run_zoo(args, tmp_path)
        assert_refused(result.returncode, result.stderr, names=names)
    assert sha256(truncated) == before


# --- slow: many more examples ---------------------------------------------------------------------------------------

@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_zoo_fit_refuses_bad_values_many_examples(data, tmp_path_factory):
    check_fit_refuses(data, tmp_path_factory.mktemp("fit"))


@pytest.mark.slow
@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_zoo_commands_refuse_bad_values_many_examples(data, checkpoint, tmp_path_factory):
    check_command_refuses(data, checkpoint, tmp_path_factory.mktemp("cmd") / "out.png")


def test_bad_value_strategies_are_really_out_of_range():
    """The generator of bad values itself: nothing it draws lies inside the range (else a pass means little)."""
    for _, _, _, spec in MODEL_TARGETS:
        if spec == "choice":
            continue
        kind, allowed = spec

        @settings(max_examples=20, **FAST)
        @given(bad_values(spec))
        def outside(value):
            assert isinstance(value, str) or (kind is int and isinstance(value, float) and not math.isnan(value)
                                              and not value.is_integer()) or not allowed.contains(value)

        outside()
