"""A folder's decoded images as one file: uint8 rows (N, C, H, W), then a JSON trailer, its length and a magic.

The trailer holds the key the cache was made for (:meth:`~datamodules.image_files.Listing.key`), the array's shape,
the listed file each row holds, and the files that could not be decoded. A cache is written through
:func:`~datamodules.base.atomic_path`: a decode killed at any moment leaves a hidden temporary, never a file that is
read back, and the next build removes temporaries that no live process is writing (each writer holds a lock on its
own). It is read back only when its key matches, into memory or memory-mapped (copy-on-write: never written).
"""

import fcntl
import json
import math
import os
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .base import atomic_path

MAGIC = b"ZOOIMGS1"
FOOTER = struct.Struct("<Q8s")
"""The last 16 bytes: the trailer's length and :data:`MAGIC`."""

Fill = Callable[[np.ndarray], tuple[list[int], list[tuple[str, str]]]]
"""Decodes into an (N, C, H, W) array's first rows; returns the listed file of each row written and the (path, why)
of each file that could not be decoded."""


@dataclass(frozen=True)
class Decoded:
    """The decoded images of a folder."""

    images: Tensor
    """uint8 (K, C, H, W), in memory or memory-mapped."""
    rows: Tensor
    """int64 (K,): the index in the listing of the file each image came from."""
    skipped: tuple[tuple[str, str], ...]
    """(relative path, why) of each listed file that could not be decoded."""


def read(path: Path, key: str, in_memory: bool) -> Decoded | None:
    """The cache at ``path`` if it was made for ``key``; None if it is missing, stale or damaged (it is rebuilt)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as file:
            file.seek(max(size - FOOTER.size, 0))
            length, magic = FOOTER.unpack(file.read(FOOTER.size))
            if magic != MAGIC or length > size - FOOTER.size:
                return None
            file.seek(size - FOOTER.size - length)
            meta = json.loads(file.read(length))
        shape = tuple(int(n) for n in meta["shape"])
        if meta["key"] != key or math.prod(shape) != size - FOOTER.size - length or len(meta["rows"]) != shape[0]:
            return None
        rows, skipped = torch.tensor(meta["rows"], dtype=torch.int64), tuple(map(tuple, meta["skipped"]))
    except (OSError, ValueError, KeyError, TypeError, struct.error):  # absent, truncated or not a cache
        return None
    if in_memory or shape[0] == 0:
        array = np.fromfile(path, np.uint8, count=math.prod(shape)).reshape(shape)
    else:
        array = np.memmap(path, np.uint8, mode="c", shape=shape)  # copy-on-write: the file is never changed
    return Decoded(torch.from_numpy(array), rows, skipped)


def decode_in_memory(shape: tuple[int, ...], fill: Fill) -> tuple[Decoded, dict]:
    """Decode into a new in-memory array; the result and the trailer to :func:`save` it with."""
    array = np.empty(shape, np.uint8)
    rows, skipped = fill(array)
    array = array[: len(rows)]
    return Decoded(torch.from_numpy(array), torch.tensor(rows, dtype=torch.int64), tuple(skipped)), {
        "shape": list(array.shape), "rows": rows, "skipped": skipped}


def save(path: Path, decoded: Decoded, trailer: dict, key: str) -> None:
    """Write in-memory ``decoded`` images as the cache at ``path``, atomically.

    Raises:
        OSError: the folder cannot be made or written, or the disk is full (nothing is left behind).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(path)
    with atomic_path(path) as temporary, _locked(temporary) as file:
        np.ascontiguousarray(decoded.images.numpy()).tofile(file)  # written from memory, no copy
        _write_trailer(file, {"key": key, **trailer})


def build_mapped(path: Path, shape: tuple[int, ...], fill: Fill, key: str) -> None:
    """Decode straight into the cache file at ``path`` through a memory map (the images never all sit in memory),
    its blocks reserved first so that a full disk fails here, not as a crash while writing.

    Raises:
        OSError: the folder cannot be made or written, or the disk has no room for ``shape`` (nothing is left).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(path)
    with atomic_path(path) as temporary, _locked(temporary) as file:
        os.posix_fallocate(file.fileno(), 0, math.prod(shape))
        array = np.memmap(temporary, np.uint8, mode="r+", shape=shape)
        rows, skipped = fill(array)
        array.flush()
        del array
        file.truncate(len(rows) * math.prod(shape[1:]))
        file.seek(0, os.SEEK_END)
        _write_trailer(file, {"key": key, "shape": [len(rows), *shape[1:]], "rows": rows, "skipped": skipped})


def _write_trailer(file, meta: dict) -> None:
    text = json.dumps(meta, separators=(",", ":")).encode()
    file.write(text + FOOTER.pack(len(text), MAGIC))
    file.flush()
    os.fsync(file.fileno())


@contextmanager
def _locked(temporary: Path) -> Iterator:
    """The temporary opened for writing, under an exclusive lock that tells :func:`remove_abandoned` it is in use."""
    with open(temporary, "r+b") as file:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX)
        yield file


def remove_abandoned(path: Path) -> None:
    """Delete the temporaries of ``path`` (``.NAME.*`` beside it) that no process holds locked: left by a kill."""
    for temporary in path.parent.glob(f".{path.name}.*"):
        try:
            with open(temporary, "rb") as file:
                fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                temporary.unlink()
        except OSError:  # being written by another process, or already gone
            continue
