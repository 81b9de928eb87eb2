"""What a user gives as a checkpoint (a file path, or the name of a published checkpoint) as a file to read.

It sits between :mod:`zoo.checkpoint`, which reads checkpoint files, and :mod:`zoo.pretrained`, which knows the
published names, so that neither imports the other.
"""

from pathlib import Path

from zoo.pretrained import is_pretrained, pull


def locate(checkpoint: str | Path) -> Path:
    """The file for ``checkpoint``: a registered name (or alias) that is not an existing path becomes the path of its
    verified local copy, pulled into the cache if needed; anything else is taken as a path (the reader reports a
    missing one)."""
    if isinstance(checkpoint, str) and not Path(checkpoint).exists() and is_pretrained(checkpoint):
        return pull(checkpoint)
    return Path(checkpoint)
