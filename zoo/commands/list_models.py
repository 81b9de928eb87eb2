"""``zoo list``: the registered models (name, family, paper), the models × datasets matrix of shipped configs, and
the shipped configs (file, model, data)."""

from zoo.arguments import CommandParser

HELP = "print the registered models, which model × dataset configs ship, and the shipped configs"


def parser() -> CommandParser:
    """``zoo list`` takes no arguments."""
    return CommandParser(prog="zoo list", description=HELP)


def run(argv: list[str]) -> None:
    parser().parse_args(argv)
    from rich.console import Console
    from rich.table import Table

    from zoo.catalog import DATASETS, config_classes, config_matrix, variant
    from zoo.config_files import shipped_configs
    from zoo.registry import list_models

    entries, shipped = list_models(), shipped_configs()
    models = Table(title="models")
    for column in ("name", "family", "paper", "class"):
        models.add_column(column)
    for entry in entries:
        models.add_row(entry.name, entry.family, entry.paper, entry.class_path)
    matrix = Table(title="configs per model and dataset (zoo fit --config <variant>_<dataset>.yaml)")
    matrix.add_column("model")
    for data in DATASETS.values():
        matrix.add_column(data)
    for name, row in config_matrix(shipped, entries).items():
        matrix.add_row(name, *(", ".join(variant(s, data) for s in stems) or "-" for data, stems in row.items()))
    configs = Table(title="configs (zoo fit --config NAME)")
    for column in ("name", "model", "data"):
        configs.add_column(column)
    for name, path in sorted(shipped.items()):
        configs.add_row(name, *config_classes(path))
    console = Console(width=200)
    console.print(models)
    console.print(matrix)
    console.print(configs)
