"""Checkpoint files that are either complete or absent: written beside their target, then renamed onto it.

Lightning's own writer serialises into memory and moves a file from the system's temporary folder into place; a
move across file systems is a copy, so a kill or a full disk can leave a partial file, and a full disk surfaces as a
raw ``OSError``. Here the bytes go to ``.<name>.<pid>.tmp`` in the target's own folder, are flushed to disk, and
``os.replace`` swaps them in (atomic on POSIX within one file system): a reader sees the old file or the new one,
never a mixture. On any failure the temporary file is removed and :class:`CheckpointWriteError` names the file, the
cause and the fix; the previous checkpoint is untouched.
"""

import errno
import io
import os
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO
from torch.serialization import DEFAULT_PROTOCOL

TEMPORARY_SUFFIX = ".tmp"


class CheckpointWriteError(OSError):
    """A checkpoint could not be written (full disk, no permission, ...); earlier checkpoints are intact."""


def temporary_path(path: Path) -> Path:
    """Where ``path`` is written before it is renamed into place: hidden, per process, not ending in ``.ckpt``."""
    return path.with_name(f".{path.name}.{os.getpid()}{TEMPORARY_SUFFIX}")


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete temporary checkpoint files left in ``folder`` by processes that no longer run (e.g. a ``kill -9``
    during a write); returns what was removed."""
    removed = []
    for candidate in Path(folder).glob(f".*.ckpt.*{TEMPORARY_SUFFIX}"):
        pid = candidate.name.rsplit(".", 2)[-2]
        if pid.isdigit() and not _process_alive(int(pid)):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def write_atomically(data: bytes | memoryview, path: Path) -> None:
    """Write ``data`` to ``path`` through a flushed temporary file in the same folder and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_path(path)
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError:
        pass


def write_error(path: Path, error: OSError) -> CheckpointWriteError:
    """The one message for a checkpoint that could not be written, with what to do about it."""
    if error.errno == errno.ENOSPC or error.errno == errno.EDQUOT:
        fix = "free space on that disk, or write elsewhere with --trainer.default_root_dir DIR"
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "make the folder writable, or write elsewhere with --trainer.default_root_dir DIR"
    else:
        fix = "check the disk and the folder, or write elsewhere with --trainer.default_root_dir DIR"
    return CheckpointWriteError(
        error.errno,
        f"could not write checkpoint {path} ({os.strerror(error.errno) if error.errno else error}). "
        f"Checkpoints written before are intact and no partial file was left. Fix: {fix}; then resume the run "
        "with --ckpt_path last (or the path of its last checkpoint).",
    )


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's ``torch.save`` checkpoint IO, but atomic in the target's folder and with a clear error."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} does not take storage_options; got {storage_options!r}")
        if "://" in str(path) and not str(path).startswith("file://"):  # remote file systems: Lightning's own way
            return super().save_checkpoint(checkpoint, path, storage_options)
        target = Path(str(path).removeprefix("file://"))
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer, pickle_protocol=DEFAULT_PROTOCOL)
        try:
            write_atomically(buffer.getbuffer(), target)
        except OSError as error:
            raise write_error(target, error) from error

