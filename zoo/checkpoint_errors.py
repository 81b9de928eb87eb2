"""Why a checkpoint cannot be had: the error types raised by loading (:mod:`zoo.checkpoint`) and by the registry of
published checkpoints (:mod:`zoo.pretrained`).

They live here, in a module that imports nothing of zoo, so that both can raise them without importing each other;
:mod:`zoo.errors` says how to fix them.
"""


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, unreadable, or not a zoo model checkpoint."""


class PretrainedError(CheckpointError):
    """A pretrained checkpoint is unknown, cannot be fetched, or is not the published file."""
