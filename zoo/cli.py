"""The ``zoo`` command: Lightning's ``fit/validate/test/predict`` plus ``list`` and ``sample``.

``--config NAME.yaml`` (and any other ``*.yaml`` argument) that is not an existing file is looked up among the
configs shipped with the package, so ``zoo fit --config vae_mnist.yaml`` works from any directory.
"""

import argparse
import sys
from importlib import resources
from pathlib import Path

import yaml
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI
from lightning.pytorch.utilities import rank_zero_info, rank_zero_only

import zoo.registry  # imports every model, so short class names work in YAML
from datamodules.base import CorruptDatasetError, DatasetNotFoundError, ImageDataModule
from zoo.callbacks import ImageGrids
from zoo.checkpoint import CheckpointError
from zoo.core.base import GenerativeModel, NonFiniteLossError



class ConfigError(ValueError):
    """The config parsed, but the model, data or trainer it describes cannot be built."""


USER_ERRORS = (ConfigError, DatasetNotFoundError, CorruptDatasetError, CheckpointError, NonFiniteLossError)
"""Errors caused by input, not by a bug: printed as one message (cause and fix), without a traceback."""

EXTRA_COMMANDS = {
    "list": "print the registered models and the shipped configs",
    "sample": "write a grid of samples from a checkpoint: zoo sample --ckpt PATH --n 64 --out grid.png",
    "train-classifier": "train the small per-dataset classifier used for mode coverage and classifier FID",
}


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


def fail(error: Exception) -> None:
    """Exit with status 1 after printing a user error (its cause and fix), without a traceback."""
    print(f"zoo: error: {error}", file=sys.stderr, flush=True)
    sys.exit(1)


@rank_zero_only
def say(message: str) -> None:
    """Print once (on rank 0) what a user needs to know, e.g. where the results are."""
    print(message, flush=True)


def explain_parse_error(message: str) -> str:
    """Shorten a config/argument error to its cause and add how to fix it."""
    noise = ("Expected a <class 'NoneType'>", "Subtypes:", "Given value", "Does not validate against any of the Union")
    lines = [line for line in message.splitlines() if not any(n in line for n in noise)]
    lines = [line if len(line) < 300 else line[:300] + " ..." for line in lines]
    text = "\n".join(lines)
    if "class_path" in text and any(s in text for s in ("has no attribute", "No module named", "not a subclass", "Import path")):
        names = ", ".join(f"{e.name} ({e.class_path})" for e in zoo.registry.list_models())
        hint = f"Unknown class. Registered models: {names}. `zoo list` shows models, data and configs."
    elif any(s in text for s in ("is not accepted", "No action for key", "nrecognized arguments", "not expected")):
        hint = "A key is not an argument of that class. See every valid key with `zoo fit --config CONFIG --print_config`."
    elif "File does not exist" in text:
        hint = f"Shipped configs (usable by name): {', '.join(sorted(shipped_configs()))}."
    else:
        hint = "See `zoo fit --help` and `zoo fit --config CONFIG --print_config`."
    return f"{text}\nfix: {hint}"


class ZooArgumentParser(LightningArgumentParser):
    """Lightning's parser, with errors reduced to their cause and a fix instead of a page of usage."""

    def error(self, message: str, ex: Exception | None = None):
        if not self.exit_on_error:
            return super().error(message, ex)
        sys.stderr.write(f"zoo: error: {explain_parse_error(message)}\n")
        sys.exit(2)


class ZooCLI(LightningCLI):
    """LightningCLI over every zoo model and data module, with sample grids and checkpoints always on."""

    def __init__(self, args: list[str] | None = None, run: bool = True, **kwargs) -> None:
        extra = "\n".join(f"  {name:<9} {help}" for name, help in EXTRA_COMMANDS.items())
        super().__init__(
            GenerativeModel,
            ImageDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            auto_configure_optimizers=False,  # every model builds its own optimisers from YAML factories
            save_config_kwargs={"overwrite": True},
            parser_kwargs={"description": f"zoo: generative models on Lightning.\n\nzoo commands:\n{extra}"},
            parser_class=ZooArgumentParser,
            args=args,
            run=run,
            **kwargs,
        )

    def add_arguments_to_parser(self, parser) -> None:
        # The data decide the image shape; the model (and its nets) are built for it, so they cannot mismatch.
        parser.link_arguments("data.image_shape", "model.init_args.image_shape", apply_on="instantiate")
        parser.add_lightning_class_args(ImageGrids, "images")
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.set_defaults({"checkpoint.save_last": True, "checkpoint.save_top_k": 0})

    def parse_arguments(self, parser, args) -> None:
        if args is None:  # from the command line; DDP re-launches sys.argv on every rank, so resolve it in place
            sys.argv[1:] = resolve_config_arguments(sys.argv[1:])
        elif isinstance(args, list):
            args = resolve_config_arguments(args)
        super().parse_arguments(parser, args)

    def before_instantiate_classes(self) -> None:
        trainer = self.config[self.subcommand].trainer if self.subcommand else self.config.trainer
        # Each update trains one network while the others sit idle, so DDP must allow unused parameters.
        strategy = trainer.get("strategy")
        if isinstance(strategy, str) and strategy in ("ddp", "ddp_spawn", "ddp_fork", "ddp_notebook"):
            trainer.strategy = f"{strategy}_find_unused_parameters_true"
            rank_zero_info(f"strategy {strategy} -> {trainer.strategy}: each update leaves the other networks unused")

    def instantiate_classes(self) -> None:
        try:
            super().instantiate_classes()
        except (ValueError, TypeError) as error:  # e.g. nets that cannot handle the data's image size
            raise ConfigError(explain_parse_error(str(error))) from error

    def after_fit(self) -> None:
        checkpoint = self.trainer.checkpoint_callback
        images = next((c for c in self.trainer.callbacks if isinstance(c, ImageGrids)), None)
        last = getattr(checkpoint, "last_model_path", "") if checkpoint else ""
        if last:
            say(f"checkpoint: {last}")
            say(f"  sample from it: zoo sample --ckpt {last} --n 64 --out samples.png")
        if images is not None and images.directory is not None:
            say(f"images: {images.directory}")


def list_command(argv: list[str]) -> None:
    """``zoo list``: models (name, family, paper) and shipped configs (file, model)."""
    argparse.ArgumentParser(prog="zoo list", description=EXTRA_COMMANDS["list"]).parse_args(argv)
    from rich.console import Console
    from rich.table import Table

    models = Table(title="models")
    for column in ("name", "family", "paper", "class"):
        models.add_column(column)
    for entry in zoo.registry.list_models():
        models.add_row(entry.name, entry.family, entry.paper, entry.class_path)
    configs = Table(title="configs (zoo fit --config NAME)")
    configs.add_column("name")
    configs.add_column("model")
    configs.add_column("data")
    for name, path in sorted(shipped_configs().items()):
        config = yaml.safe_load(path.read_text()) or {}
        configs.add_row(name, _class_name(config.get("model")), _class_name(config.get("data")))
    console = Console(width=200)
    console.print(models)
    console.print(configs)


def _class_name(section) -> str:
    return section.get("class_path", "").rsplit(".", 1)[-1] if isinstance(section, dict) else ""


def sample_command(argv: list[str]) -> None:
    """``zoo sample``: load a checkpoint (no config needed) and save a grid of samples."""
    parser = argparse.ArgumentParser(prog="zoo sample", description=EXTRA_COMMANDS["sample"])
    parser.add_argument("--ckpt", required=True, help="checkpoint path")
    parser.add_argument("--n", type=int, default=64, help="number of samples")
    parser.add_argument("--out", default="samples.png", help="output PNG")
    parser.add_argument("--seed", type=int, default=0, help="seed of the latent noise")
    parser.add_argument("--nrow", type=int, default=8, help="images per row")
    args = parser.parse_args(argv)
    from torchvision.utils import save_image

    from zoo.checkpoint import CheckpointError, load

    try:
        model = load(args.ckpt)
    except CheckpointError as error:
        fail(error)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    save_image(model.sample(args.n, seed=args.seed), args.out, nrow=args.nrow, padding=2, pad_value=1.0)
    print(f"wrote {args.n} samples of {type(model).__name__} to {args.out}")


def train_classifier_command(argv: list[str]) -> None:
    """``zoo train-classifier``: train and save the small classifier of MNIST or Fashion-MNIST."""
    parser = argparse.ArgumentParser(prog="zoo train-classifier", description=EXTRA_COMMANDS["train-classifier"])
    parser.add_argument("--data", choices=["fashion_mnist", "mnist"], default="fashion_mnist")
    parser.add_argument("--data-dir", default="data", help="where the data module finds or stores the dataset")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", required=True, help="output .pt file")
    args = parser.parse_args(argv)
    import datamodules
    from zoo.metrics.classifier import save_classifier, train_classifier

    module = {"fashion_mnist": datamodules.FashionMNISTDataModule, "mnist": datamodules.MNISTDataModule}[args.data]
    try:
        model, accuracy = train_classifier(module(data_dir=args.data_dir, batch_size=128), epochs=args.epochs)
    except USER_ERRORS as error:
        fail(error)
    save_classifier(model, args.out, accuracy)
    print(f"test accuracy {accuracy:.4f}; saved to {args.out}")


def main(argv: list[str] | None = None) -> None:
    words = sys.argv[1:] if argv is None else list(argv)
    if words and words[0] in EXTRA_COMMANDS:
        commands = {"list": list_command, "sample": sample_command, "train-classifier": train_classifier_command}
        commands[words[0]](words[1:])
        return
    try:
        ZooCLI(args=argv)
    except USER_ERRORS as error:
        fail(error)


if __name__ == "__main__":
    main()
