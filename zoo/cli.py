"""The ``zoo`` command: Lightning's ``fit/validate/test/predict`` plus the commands of :mod:`zoo.commands`.

``--config NAME.yaml`` (and any other ``*.yaml`` argument) that is not an existing file is looked up among the
configs shipped with the package, so ``zoo fit --config vae_mnist.yaml`` works from any directory.
"""

import argparse
import shlex
import sys
from importlib import resources
from pathlib import Path

import yaml
from jsonargparse import DefaultHelpFormatter
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI, SaveConfigCallback
from lightning.pytorch.utilities import rank_zero_only

import zoo.loggers  # noqa: F401  (CSVRunLogger, TensorBoardRunLogger by short name)
import zoo.registry
from datamodules.base import CorruptDatasetError, DatasetNotFoundError, ImageDataModule
from zoo.callbacks import ImageGrids, WandbCheckpointArtifact
from zoo.callbacks.checkpoint import OutputFolderError, ResumableCheckpoint, TrainingInterrupted
from zoo.checkpoint import CheckpointError, read_checkpoint
from zoo.commands import COMMANDS
from zoo.core.base import GenerativeModel, IncompatibleCheckpointError, NonFiniteLossError
from zoo.core.checkpoint_io import CheckpointWriteError
from zoo.runs import NoCheckpointToResumeError, launched_as_global_rank_zero, newest_last_checkpoint, place_logs



class ConfigError(ValueError):
    """The config parsed, but the model, data or trainer it describes cannot be built."""


zoo.registry.import_models()  # before any parser exists: short class names (``--model DCGAN``) resolve

USER_ERRORS = (ConfigError, DatasetNotFoundError, CorruptDatasetError, CheckpointError, NonFiniteLossError,
               OutputFolderError, CheckpointWriteError, IncompatibleCheckpointError, NoCheckpointToResumeError)
"""Errors caused by input, not by a bug: printed as one message (cause and fix), without a traceback."""



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


def resume_command(words: list[str], checkpoint: str) -> str:
    """The command line that continues a run: the one given, with ``--ckpt_path`` pointing at ``checkpoint``."""
    kept, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word == "--ckpt_path":
            skip = True
        elif not word.startswith("--ckpt_path="):
            kept.append(word)
    return shlex.join(["zoo", *kept, "--ckpt_path", checkpoint])


def stopped(stop: TrainingInterrupted, words: list[str]) -> None:
    """Exit after a signal stopped training: say where the checkpoint is and how to resume (global rank 0)."""
    if launched_as_global_rank_zero():
        print(f"zoo: {stop}\nresume: {resume_command(words, stop.checkpoint)}", file=sys.stderr, flush=True)
    sys.exit(stop.exit_status)


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


class ZooHelpFormatter(argparse.RawDescriptionHelpFormatter, DefaultHelpFormatter):
    """jsonargparse's help, keeping the line breaks of the description (the list of zoo commands)."""


class ZooArgumentParser(LightningArgumentParser):
    """Lightning's parser, with errors reduced to their cause and a fix instead of a page of usage."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", ZooHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str, ex: Exception | None = None):
        if not self.exit_on_error:
            return super().error(message, ex)
        sys.stderr.write(f"zoo: error: {explain_parse_error(message)}\n")
        sys.exit(2)


class LogConfig(SaveConfigCallback):
    """Writes ``config.yaml`` beside the logs (Lightning's behaviour) and logs the full resolved config, as
    ``config/...`` hyper-parameters, to every logger (W&B run config, TensorBoard hparams, CSV hparams.yaml)."""

    def save_config(self, trainer, pl_module, stage: str) -> None:
        resolved = yaml.safe_load(self.parser.dump(self.config, skip_none=False))
        for logger in trainer.loggers:
            logger.log_hyperparams({"config": resolved})


class ZooCLI(LightningCLI):
    """LightningCLI over every zoo model and data module, with sample grids and checkpoints always on."""

    def __init__(self, args: list[str] | None = None, run: bool = True, **kwargs) -> None:
        extra = "\n".join(f"  {name:<17} {command.HELP}" for name, command in COMMANDS.items())
        super().__init__(
            GenerativeModel,
            ImageDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            auto_configure_optimizers=False,  # every model builds its own optimisers from YAML factories
            save_config_kwargs={"overwrite": True},
            parser_kwargs={"description": f"zoo: generative models on Lightning.\n\nzoo commands:\n{extra}"},
            parser_class=ZooArgumentParser,
            save_config_callback=LogConfig,
            args=args,
            run=run,
            **kwargs,
        )

    def add_arguments_to_parser(self, parser) -> None:
        # The data decide the image shape; the model (and its nets) are built for it, so they cannot mismatch.
        parser.link_arguments("data.image_shape", "model.init_args.image_shape", apply_on="instantiate")
        parser.add_lightning_class_args(ImageGrids, "images")
        parser.add_lightning_class_args(ResumableCheckpoint, "checkpoint")
        parser.add_lightning_class_args(WandbCheckpointArtifact, "wandb_artifact")
        parser.set_defaults({"checkpoint.save_last": True, "checkpoint.save_top_k": 0})
        # Logs, images and checkpoints of every run go under one folder (loggers without a save_dir follow it).
        parser.set_defaults({"trainer.default_root_dir": "runs"})

    def parse_arguments(self, parser, args) -> None:
        if args is None:  # from the command line; DDP re-launches sys.argv on every rank, so resolve it in place
            sys.argv[1:] = resolve_config_arguments(sys.argv[1:])
        elif isinstance(args, list):
            args = resolve_config_arguments(args)
        super().parse_arguments(parser, args)

    def _parse_ckpt_path(self) -> None:
        """Lightning replaces the config's model by the hyper-parameters stored in ``--ckpt_path``, so a checkpoint
        of another model (or other nets) would silently train that model under this config's name. zoo builds what
        the config says; the model refuses a checkpoint that does not fit it (``check_resumable``)."""

    def before_instantiate_classes(self) -> None:
        trainer = self.config[self.subcommand].trainer if self.subcommand else self.config.trainer
        # Only the process that becomes global rank 0 claims a version folder; the others never write logs.
        place_logs(trainer, claim_version=self.subcommand == "fit" and launched_as_global_rank_zero())

    def instantiate_classes(self) -> None:
        try:
            super().instantiate_classes()
        except (ValueError, TypeError) as error:  # e.g. nets that cannot handle the data's image size
            raise ConfigError(explain_parse_error(str(error))) from error

    def before_fit(self) -> None:
        """Resolve ``--ckpt_path last`` to the newest ``last.ckpt`` of this config's runs, and refuse an unreadable
        checkpoint before any work is spent."""
        config = self.config_init[self.subcommand]
        path = config.get("ckpt_path")
        if path == "last":
            path = str(newest_last_checkpoint(self.trainer))
            config["ckpt_path"] = path
        if path is not None and path != "hpc":
            read_checkpoint(path)  # CheckpointError: missing, empty, truncated, not a checkpoint
            say(f"resuming from: {path}")

    def after_fit(self) -> None:
        checkpoint = self.trainer.checkpoint_callback
        images = next((c for c in self.trainer.callbacks if isinstance(c, ImageGrids)), None)
        last = getattr(checkpoint, "last_model_path", "") if checkpoint else ""
        if last:
            say(f"checkpoint: {last}")
            say(f"  sample from it: zoo sample --ckpt {last} --n 64 --out samples.png")
        if images is not None and images.directory is not None:
            say(f"images: {images.directory}")
        if any(isinstance(logger, WandbLogger) for logger in self.trainer.loggers):
            import wandb

            wandb.finish()  # flush the run (offline: its directory is then complete for `wandb sync`)


def main(argv: list[str] | None = None) -> None:
    words = sys.argv[1:] if argv is None else list(argv)
    if words and words[0] in COMMANDS:
        try:
            COMMANDS[words[0]].run(words[1:])
        except USER_ERRORS as error:
            fail(error)
        return
    try:
        ZooCLI(args=argv)
    except USER_ERRORS as error:
        fail(error)
    except TrainingInterrupted as stop:
        stopped(stop, words)


if __name__ == "__main__":
    main()
