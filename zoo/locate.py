"""What a user gives as a checkpoint (a file path, or the name of a published checkpoint) as a file to read.

It sits between :mod:`zoo.checkpoint`, which reads checkpoint files, and :mod:`zoo.pretrained`, which knows the
published names, so that neither imports the other.
"""

import os
from pathlib import Path

from zoo.checkpoint_errors import CheckpointError, PretrainedError

from zoo.names import did_you_mean
from zoo.pretrained import is_pretrained, pull, registry


def locate(checkpoint: str | Path) -> Path:
    """The file for ``checkpoint``: a registered name (or alias) that is not an existing file (a run folder of the
    same name does not count) becomes the path of its verified local copy, pulled into the cache if needed; anything
    else is taken as a path (the reader reports a missing one). Any other type is refused, saying what to pass."""
    wanted = ("a path (str or pathlib.Path) to a .ckpt file or the name of a published checkpoint (`zoo pull "
              "--list`), e.g. zoo.load('vae_fashion_mnist')")
    if not isinstance(checkpoint, (str, os.PathLike)):
        raise TypeError(f"a checkpoint must be {wanted}; got {checkpoint!r} ({type(checkpoint).__name__})")
    if not str(checkpoint).strip():
        raise CheckpointError(f"no checkpoint given (an empty name). Fix: give {wanted}.")
    if isinstance(checkpoint, str) and not Path(checkpoint).is_file() and is_pretrained(checkpoint):
        return pull(checkpoint)
    return Path(checkpoint)


def near_misses(checkpoint: str | Path) -> str:
    """`` Did you mean ...?`` for a checkpoint that does not exist: the close published names (for a bare name) or
    the close files beside it; ``""`` when nothing is close."""
    path = Path(checkpoint)
    known = [file.name for file in path.parent.iterdir()] if path.parent.is_dir() else []
    if len(path.parts) == 1:
        try:
            entries = registry()
        except PretrainedError:  # the shipped index itself is unreadable: reported where it is read
            entries = {}
        known += [*entries, *(alias for entry in entries.values() for alias in entry.aliases)]
    return did_you_mean(path.name, known)
