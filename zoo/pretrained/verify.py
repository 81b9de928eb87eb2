"""Whether a file is the published checkpoint an entry describes: its size and full sha256."""

import hashlib
from pathlib import Path

from zoo.checkpoint_errors import PretrainedError
from zoo.pretrained.index import Pretrained


def sha256_of(path: str | Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_intact(entry: Pretrained, path: Path) -> bool:
    """Whether ``path`` holds exactly the published bytes (the size is compared first: no hashing of a wrong one)."""
    return path.stat().st_size == entry.size and sha256_of(path) == entry.sha256


def verify(entry: Pretrained, path: Path, what: str, fix: str) -> None:
    """Refuse ``path`` (described as ``what``) unless it is the published file; ``fix`` says what to do then."""
    size = path.stat().st_size
    digest = sha256_of(path)
    if digest != entry.sha256 or size != entry.size:
        raise PretrainedError(
            f"{entry.name}: hash mismatch: {what} has sha256 {digest} ({size} bytes), the index says "
            f"{entry.sha256} ({entry.size} bytes); the file is corrupt or not the published one. Fix: {fix}."
        )
