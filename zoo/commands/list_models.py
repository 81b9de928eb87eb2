"""``zoo list``: the registered models (name, family, paper) and the shipped configs (file, model, data)."""

import yaml

from zoo.arguments import CommandParser

HELP = "print the registered models and the shipped configs"


def parser() -> CommandParser:
    """``zoo list`` takes no arguments."""
    return CommandParser(prog="zoo list", description=HELP)


def run(argv: list[str]) -> None:
    parser().parse_args(argv)
    from rich.console import Console
    from rich.table import Table

    from zoo.config_files import shipped_configs
    from zoo.registry import list_models

    models = Table(title="models")
    for column in ("name", "family", "paper", "class"):
        models.add_column(column)
    for entry in list_models():
        models.add_row(entry.name, entry.family, entry.paper, entry.class_path)
    configs = Table(title="configs (zoo fit --config NAME)")
    for column in ("name", "model", "data"):
        configs.add_column(column)
    for name, path in sorted(shipped_configs().items()):
        config = yaml.safe_load(path.read_text()) or {}
        configs.add_row(name, _class_name(config.get("model")), _class_name(config.get("data")))
    console = Console(width=200)
    console.print(models)
    console.print(configs)


def _class_name(section) -> str:
    return section.get("class_path", "").rsplit(".", 1)[-1] if isinstance(section, dict) else ""
