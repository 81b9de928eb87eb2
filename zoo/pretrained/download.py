"""Pulling: the local path of a verified copy of a published checkpoint, fetched if needed.

A shipped entry (``file``) is verified in place. A ``url`` entry is downloaded (through ``torch.hub``) into
``<torch.hub.get_dir()>/zoo/`` and moved there only after its size and sha256 were checked; an ``hf`` entry is
fetched by ``huggingface_hub`` into its own cache (:mod:`zoo.pretrained.hub`). A cached copy is re-hashed on every
use: a good one is a cache hit (no network), one that changed on disk is fetched again.
"""

import os
import sys
import urllib.error
import uuid
from pathlib import Path

from zoo.checkpoint_errors import PretrainedError
from zoo.pretrained import hub
from zoo.pretrained.index import Pretrained, get
from zoo.pretrained.verify import is_intact, verify


def cache_dir() -> Path:
    """The download cache of ``url`` entries: ``<torch.hub.get_dir()>/zoo`` (honours ``$TORCH_HOME`` and
    ``$XDG_CACHE_HOME``)."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "zoo"


def cache_path(entry: Pretrained) -> Path:
    """Where the downloaded copy of a ``url`` entry lives: ``<cache_dir()>/<name>-<sha256[:12]>.ckpt``."""
    return cache_dir() / f"{entry.name}-{entry.sha256[:12]}.ckpt"


def pull(name: str | Pretrained, force: bool = False, progress: bool = True) -> Path:
    """The local path of a verified copy of a pretrained checkpoint, downloading it if needed; ``force`` fetches it
    again regardless."""
    entry = get(name) if isinstance(name, str) else name
    if entry.file:
        path = entry.shipped_path
        if not path.is_file():
            raise PretrainedError(f"{entry.name}: the shipped file {path} is missing; reinstall zoo (pip install .).")
        verify(entry, path, f"the shipped file {path}", "reinstall zoo (pip install -e .) to restore it")
        return path
    cached = hub.cached(entry) if entry.hf else cache_path(entry)
    if cached is not None and cached.is_file() and not force:
        if is_intact(entry, cached):
            return cached
        _say(f"zoo: {cached} does not match its sha256 (changed on disk); downloading {entry.name} again")
        force = True
    return hub.fetch(entry, force, progress) if entry.hf else _download(entry, progress)


def _download(entry: Pretrained, progress: bool) -> Path:
    """Fetch a ``url`` entry into the cache: into a temporary file beside it, checked, then moved into place.

    ``torch.hub.download_url_to_file`` does the transfer (with a progress bar) into its own ``.partial`` file and
    moves it to our staging name; we then check the size (a connection that closes early is not an error to
    Python's HTTP client, so a truncated body shows up only as a short file) and the full sha256, and only then
    rename it. Every failure removes the staging file, so the cache never holds a bad copy.
    """
    import torch.hub

    url, target = entry.source_url, cache_path(entry)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PretrainedError(f"{entry.name}: cannot create the cache folder {target.parent} ({error}); "
                              "set $TORCH_HOME to a writable folder.") from error
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex}.download")
    _say(f"zoo: downloading {entry.name} ({entry.size / 1e6:.1f} MB) from {url}")
    try:
        try:
            torch.hub.download_url_to_file(url, str(staging), hash_prefix=None, progress=progress)
        except urllib.error.HTTPError as error:
            raise PretrainedError(
                f"{entry.name}: the server answered {error.code} {error.reason} for {url}. The file has moved or "
                "the index is out of date: update zoo, or download it yourself and pass its path as the checkpoint."
            ) from error
        except urllib.error.URLError as error:
            raise PretrainedError(
                f"{entry.name}: cannot reach {url} ({error.reason}). The server is down or this machine is offline: "
                "check the network (and proxy settings), try again later, or download the file elsewhere and pass "
                f"its path as the checkpoint (sha256 {entry.sha256})."
            ) from error
        except OSError as error:  # connection reset mid-transfer, disk full, ...
            raise PretrainedError(
                f"{entry.name}: downloading {url} failed ({type(error).__name__}: {error}); nothing was cached. "
                "Try again; if it persists, check the network and the free space in "
                f"{target.parent} (set $TORCH_HOME to use another cache folder)."
            ) from error
        size = staging.stat().st_size
        if size < entry.size:
            raise PretrainedError(
                f"{entry.name}: the transfer from {url} was truncated ({size} of {entry.size} bytes arrived); "
                "nothing was cached. The connection dropped (or the server holds a shorter file): run the pull "
                "again; if it persists, download the file elsewhere and pass its path as the checkpoint."
            )
        verify(entry, staging, f"the file downloaded from {url}",
               "nothing was cached. Pull again; if it persists the server holds a different file than the index "
               "describes: update zoo or tell the publisher")
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)
    return target


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
