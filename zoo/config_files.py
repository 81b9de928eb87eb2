"""zoo's YAML config files: the ones shipped with the package (usable by name), and the check that a file given as
``--config`` is a config at all before jsonargparse reads it.

``--config NAME.yaml`` (and any other ``*.yaml`` argument) that is not an existing file is looked up among the
configs shipped with the package, so ``zoo fit --config vae_mnist.yaml`` works from any directory.
"""

from importlib import resources
from pathlib import Path

import yaml

CONFIG_SHAPE = ("a config is a YAML mapping of sections, e.g. `model:` (class_path, init_args), `data:` and "
                "`trainer:`; `zoo fit --config vae_mnist.yaml --print_config` prints a complete one")


class ConfigFileError(ValueError):
    """A ``--config`` file is empty, not UTF-8 text, not YAML, or not a mapping of sections."""


def shipped_configs() -> dict[str, Path]:
    """The YAML configs that ship with the package, by file name."""
    root = resources.files("zoo.configs")
    return {p.name: Path(str(p)) for p in root.iterdir() if p.name.endswith((".yaml", ".yml"))}


def resolve_config_arguments(argv: list[str]) -> list[str]:
    """Replace ``*.yaml`` arguments that are not files by the shipped config of that name."""
    configs = shipped_configs()

    def resolve(token: str) -> str:
        prefix, _, value = token.rpartition("=") if token.startswith("--") and "=" in token else ("", "", token)
        if value.endswith((".yaml", ".yml")) and not Path(value).exists() and Path(value).name in configs:
            value = str(configs[Path(value).name])
        return f"{prefix}={value}" if prefix else value

    return [resolve(token) for token in argv]


def config_arguments(argv: list[str]) -> list[str]:
    """The values given to ``--config`` in ``argv`` (``--config PATH`` or ``--config=PATH``)."""
    paths = [word.partition("=")[2] for word in argv if word.startswith("--config=")]
    paths += [value for flag, value in zip(argv, argv[1:]) if flag == "--config"]
    return paths


def check_config_file(path: str) -> None:
    """Raise :class:`ConfigFileError`, naming ``path`` and what a config must look like, unless the existing file
    ``path`` is UTF-8 YAML holding a mapping. (A missing file is left to the parser, which lists the shipped ones.)"""
    file = Path(path)
    if not file.exists():
        return
    if file.is_dir():
        raise ConfigFileError(f"config {path} is a folder, not a file. Fix: {CONFIG_SHAPE}.")
    try:
        text = file.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigFileError(f"config {path} is not UTF-8 text (byte {error.start} cannot be decoded); is it a YAML "
                              f"file? Fix: {CONFIG_SHAPE}.") from None
    try:
        content = yaml.safe_load(text)
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where is not None else ""
        raise ConfigFileError(f"config {path} is not valid YAML{at}: {getattr(error, 'problem', error)}. "
                              f"Fix: {CONFIG_SHAPE}.") from None
    if content is None:
        raise ConfigFileError(f"config {path} is empty. Fix: {CONFIG_SHAPE}.")
    if not isinstance(content, dict):
        raise ConfigFileError(f"config {path} holds a YAML {type(content).__name__}, not a mapping of sections. "
                              f"Fix: {CONFIG_SHAPE}.")
