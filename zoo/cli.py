"""The ``zoo`` command: Lightning's ``fit/validate/test/predict`` plus the commands of :mod:`zoo.commands`.

Configs are found by name among the shipped ones (:mod:`zoo.config_files`); user errors end as one message with
its fix (:mod:`zoo.errors`), ``--debug`` adds their traceback.
"""

import argparse
import shlex
import sys
from pathlib import Path

import yaml
from jsonargparse import DefaultHelpFormatter
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI, SaveConfigCallback
from lightning.pytorch.utilities import rank_zero_only

import zoo.loggers  # noqa: F401  (CSVRunLogger, TensorBoardRunLogger by short name)
import zoo.registry
from datamodules.base import ImageDataModule
from zoo.arguments import InvalidArgument
from zoo.callbacks import BestCheckpoint, ImageGrids, WandbCheckpointArtifact
from zoo.callbacks.checkpoint import ResumableCheckpoint, TrainingInterrupted
from zoo.checkpoint import is_weights_only, read_checkpoint, start_from_weights
from zoo.checkpoint_errors import CheckpointError
from zoo.commands import COMMANDS
from zoo.config_files import check_config_file, config_arguments, resolve_config_arguments, shipped_configs
from zoo.core.base import GenerativeModel
from zoo.core.checkpoint_io import remove_stale_temporaries
from zoo.core.omitted import OMITTED_KEY, cannot_train_from
from zoo.errors import USER_ERRORS, ConfigError, debug_requested, explain, explain_parse_error, report
from zoo.locate import locate
from zoo.runs import launched_as_global_rank_zero, newest_last_checkpoint, place_logs, release_unused_versions

__all__ = ["USER_ERRORS", "ConfigError", "ZooCLI", "explain_parse_error", "main", "shipped_configs"]

LIGHTNING_CHECKPOINT_NAMES = ("hpc", "best", "registry")
LABEL_LINKS = ("num_classes", "class_names", "label_kind")
"""What the data decide about a conditional model's labels, linked into its arguments like the image shape."""
DATA_LINKS = (*LABEL_LINKS, "dataset_size")
"""Every fact the data decide for the models that declare it: the labels, and the training split's size (the N of
β-TCVAE's minibatch-weighted sampling)."""
"""``--ckpt_path`` values that Lightning resolves itself (not files)."""

zoo.registry.import_models()  # before any parser exists: short class names (``--model DCGAN``) resolve


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
        # Likewise the labels of a conditional model (jsonargparse skips a link whose target the model does not
        # declare, so unconditional models take none); a config's own value that differs is refused.
        for fact in DATA_LINKS:
            parser.link_arguments(f"data.{fact}", f"model.init_args.{fact}", apply_on="instantiate")
        parser.add_lightning_class_args(ImageGrids, "images")
        parser.add_lightning_class_args(ResumableCheckpoint, "checkpoint")
        parser.add_lightning_class_args(BestCheckpoint, "best_checkpoint")  # best.ckpt, by the logged FID
        parser.add_lightning_class_args(WandbCheckpointArtifact, "wandb_artifact")
        parser.set_defaults({"checkpoint.save_last": True, "checkpoint.save_top_k": 0})
        # Logs, images and checkpoints of every run go under one folder (loggers without a save_dir follow it).
        parser.set_defaults({"trainer.default_root_dir": "runs"})

    def parse_arguments(self, parser, args) -> None:
        if args is None:  # from the command line; DDP re-launches sys.argv on every rank, so resolve it in place
            sys.argv[1:] = resolve_config_arguments(sys.argv[1:])
        elif isinstance(args, list):
            args = resolve_config_arguments(args)
        for path in config_arguments(sys.argv[1:] if args is None else args if isinstance(args, list) else []):
            check_config_file(path)  # empty, not UTF-8, not a mapping: say so, naming the file
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
        config = self.config[self.subcommand] if self.subcommand else self.config
        init_args = config.get("model", {}).get("init_args") or {}
        given = {fact: init_args.get(fact) for fact in DATA_LINKS if init_args.get(fact) is not None}
        try:
            super().instantiate_classes()
        except InvalidArgument:  # a hyper-parameter out of its range: the message names it
            raise
        except (ValueError, TypeError) as error:  # e.g. nets that cannot handle the data's image size
            raise ConfigError(explain_parse_error(str(error))) from error
        except RuntimeError as error:  # torch refusing what the arguments ask for (e.g. an impossible allocation)
            if "allocate" not in str(error):
                raise
            raise ConfigError(f"building the config's classes failed: {str(error).strip()[:300]}. Fix: lower the "
                              "sizes the config asks for (latent_dim, image_size, channels, batch_size).") from error
        check_label_settings(given, self.datamodule)

    def before_fit(self) -> None:
        """Resolve ``--ckpt_path`` (``last``: the newest ``last.ckpt`` of this config's runs; a published name: its
        verified file), refuse an unreadable checkpoint before any work is spent, and remove the partial files a
        killed write left beside it. A weights-only checkpoint (a ``zoo publish`` release) starts a new run from its
        weights: the fine-tuning start, with fresh optimisers and iteration count."""
        found = self._checked_ckpt_path()
        if found is None:
            return
        path, checkpoint = found
        if is_weights_only(checkpoint):
            start_from_weights(self.model, checkpoint, path)
            self.config_init[self.subcommand]["ckpt_path"] = None
            say(f"starting a new run from the weights of {path} (trained {checkpoint.get('zoo', {}).get('iteration', '?')}"
                " iterations): it holds no optimiser states, so the optimisers, schedules and iteration count start "
                "afresh (fine-tuning). To continue a run exactly, give its last.ckpt.")
            return
        remove_stale_temporaries(Path(path).parent)
        say(f"resuming from: {path}")

    def before_validate(self) -> None:
        """The same checkpoint guard as ``fit``: an unreadable ``--ckpt_path`` is one message, before any work; a
        published name or a weights-only release is scored on its weights."""
        self._checked_ckpt_path()

    before_test = before_predict = before_validate

    def _checked_ckpt_path(self) -> tuple[str, dict] | None:
        """The subcommand's ``--ckpt_path`` (``last`` and published names resolved to files, written back for
        Lightning) and the checkpoint, read once to refuse a missing or corrupt file; None when there is none, or a
        name Lightning resolves itself (``hpc``, ``best``)."""
        config = self.config_init[self.subcommand]
        path = config.get("ckpt_path")
        if path == "last":
            path = str(newest_last_checkpoint(self.trainer))
        if path is None or path in LIGHTNING_CHECKPOINT_NAMES:
            return None
        path = config["ckpt_path"] = str(locate(path))
        checkpoint = read_checkpoint(path)  # CheckpointError: missing, corrupt, ...
        omitted = checkpoint.get("zoo", {}).get(OMITTED_KEY)
        if omitted:
            raise CheckpointError(cannot_train_from(path, omitted))
        return path, checkpoint

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


def check_label_settings(given: dict, datamodule) -> None:
    """Refuse data facts a config gives the model (``num_classes``, ``class_names``, ``label_kind``,
    ``dataset_size``) that differ from its data's: the data decide them, as they decide the image shape."""
    differ = [f"{fact} {value!r} (the data's: {getattr(datamodule, fact)!r})" for fact, value in given.items()
              if (tuple(value) if isinstance(value, (list, tuple)) else value)
              != (tuple(getattr(datamodule, fact)) if fact == "class_names" else getattr(datamodule, fact))]
    if differ:
        raise ConfigError(f"the config sets the model's {'; '.join(differ)}, but the data module decides these (they "
                          f"are linked from --data). Fix: leave them out of the model's init_args; choose CelebA's "
                          "attributes with --data.init_args.attributes, the training split's size with "
                          "--data.init_args.train_subset or val_size.")


def main(argv: list[str] | None = None) -> None:
    """Run ``zoo`` with ``argv`` (default: the command line). A user error exits with status 1 and one message, its
    cause and fix (:mod:`zoo.errors`); ``--debug`` or ``ZOO_DEBUG=1`` also prints its traceback."""
    debug, words = debug_requested(sys.argv[1:] if argv is None else list(argv))
    if argv is None:
        sys.argv[1:] = words  # Lightning (and DDP's re-launch) read the command line without the flag
    try:
        if words and words[0] in COMMANDS:
            COMMANDS[words[0]].run(words[1:])
        else:
            ZooCLI(args=None if argv is None else words)
    except TrainingInterrupted as stop:
        stopped(stop, words)
    except Exception as error:
        message = explain(error)
        if message is None:  # a bug: its traceback is what helps
            raise
        report(error, message, debug)
    finally:
        release_unused_versions()


if __name__ == "__main__":
    main()
