"""Published checkpoints: a registry (``index.json`` in this package), a verified download cache, and loading by name.

Each entry of the index describes one model trained on one dataset: where the checkpoint lives, its sha256 and
size, the config it was trained with, the metrics measured on it and its licence. An entry is named after the
config it was trained with (``<config name without .yaml>``), so ``zoo.load(<config name>)`` is the rule to guess
by (``dcgan_fashion_mnist`` is the DCGAN trained with ``dcgan_fashion_mnist.yaml``); ``aliases`` lists other
names an entry answers to, e.g. a team's own short names in an index of ``$ZOO_PRETRAINED_INDEX``.

A checkpoint lives in one of:

- ``file``: a path relative to this package (shipped inside it, nothing to download);
- ``url``: an ``http(s)://`` or ``file://`` URL;
- ``hf``: ``{"repo": "owner/name", "filename": "x.ckpt", "revision": "main"}``, a file of a Hugging Face Hub model
  repository, fetched from its plain ``resolve`` URL (no extra package needed). Reserved for future releases:
  no shipped entry uses it yet.

Downloads go to ``<torch.hub.get_dir()>/zoo/`` (``$TORCH_HOME/hub/zoo``, by default
``$XDG_CACHE_HOME/torch/hub/zoo`` or ``~/.cache/torch/hub/zoo``). A file is moved into the cache only after its
size and full sha256 were checked; a cached file is re-hashed on every use and fetched again if it changed on disk.
``$ZOO_PRETRAINED_INDEX`` names extra index files (separated by ``os.pathsep``) whose entries are added to, or
replace, the shipped ones, e.g. for checkpoints hosted by your own team.

>>> import zoo
>>> model = zoo.load("vae_fashion_mnist")   # a registered name: pulled (if needed), verified, loaded
>>> images = model.sample(64)                # (64, 1, 28, 28) in [0, 1]
"""

import hashlib
import json
import os
import sys
import urllib.error
import urllib.parse
import uuid
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from zoo.checkpoint import CheckpointError

INDEX_FILE = "index.json"
INDEX_ENV = "ZOO_PRETRAINED_INDEX"
HF_ENDPOINT = "https://huggingface.co"
FORMAT = 1


class PretrainedError(CheckpointError):
    """A pretrained checkpoint is unknown, cannot be fetched, or is not the published file."""


@dataclass(frozen=True)
class Pretrained:
    """One published checkpoint (an entry of the index). Exactly one of ``file``, ``url`` and ``hf`` is set."""

    name: str
    model: str  # registered model name, e.g. "vae"
    dataset: str
    sha256: str
    size: int
    license: str
    file: str | None = None
    url: str | None = None
    hf: dict | None = None
    class_path: str = ""
    paper: str = ""
    description: str = ""
    config: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    card: str | None = None
    aliases: tuple[str, ...] = ()
    index: Path | None = None  # the index file that holds the entry (``file`` is relative to its folder)

    @classmethod
    def from_dict(cls, name: str, data: dict, index: Path | None = None) -> "Pretrained":
        missing = [key for key in ("model", "dataset", "sha256", "size", "license") if key not in data]
        sources = [key for key in ("file", "url", "hf") if data.get(key)]
        where = f"{name!r} in {index}" if index else repr(name)
        if missing:
            raise PretrainedError(f"pretrained entry {where} lacks {', '.join(missing)}; fix the index file.")
        if len(sources) != 1:
            raise PretrainedError(f"pretrained entry {where} must give exactly one of file, url, hf (has {sources}).")
        known = {f for f in cls.__dataclass_fields__ if f not in ("name", "index")}
        fields = {k: v for k, v in data.items() if k in known}
        fields["aliases"] = tuple(data.get("aliases", ()))
        return cls(name=name, index=index, **fields)

    def to_dict(self) -> dict:
        """The entry as stored in ``index.json`` (without its name, which is the key)."""
        keys = ("model", "class_path", "paper", "dataset", "description", "aliases", "file", "url", "hf", "sha256",
                "size", "license", "config", "training", "metrics", "card")
        values = {k: getattr(self, k) for k in keys if getattr(self, k) not in (None, "", {}, ())}
        return {**values, "aliases": list(self.aliases)} if self.aliases else values

    @property
    def config_file(self) -> str:
        """The config the checkpoint was trained with (``configs/<name>``), or "" where the index does not say."""
        return self.config.get("file", "")

    @property
    def source_url(self) -> str | None:
        """The URL to download from (``url``, or the Hub's resolve URL of ``hf``); None for a shipped file."""
        if self.url:
            return self.url
        if self.hf:
            repo, filename = self.hf["repo"], self.hf["filename"]
            revision = self.hf.get("revision", "main")
            endpoint = os.environ.get("HF_ENDPOINT", HF_ENDPOINT).rstrip("/")
            return f"{endpoint}/{repo}/resolve/{urllib.parse.quote(revision, safe='')}/{filename}"
        return None

    @property
    def location(self) -> str:
        """Where the checkpoint lives, for people: the shipped file's path or the URL."""
        return str(self.shipped_path) if self.file else self.source_url

    @property
    def shipped_path(self) -> Path | None:
        if not self.file:
            return None
        base = self.index.parent if self.index is not None else Path(str(resources.files(__name__)))
        return base / self.file

    @property
    def cache_path(self) -> Path:
        """Where a downloaded copy lives: ``<cache_dir()>/<name>-<sha256[:12]>.ckpt``."""
        return cache_dir() / f"{self.name}-{self.sha256[:12]}.ckpt"


# --- the index ---------------------------------------------------------------------------------------------------


def index_files() -> list[Path]:
    """The shipped index, then those named by ``$ZOO_PRETRAINED_INDEX`` (later files override earlier entries)."""
    files = [Path(str(resources.files(__name__) / INDEX_FILE))]
    extra = os.environ.get(INDEX_ENV, "")
    files += [Path(p).expanduser() for p in extra.split(os.pathsep) if p.strip()]
    return files


def read_index(path: Path) -> dict[str, Pretrained]:
    """The entries of one index file."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise PretrainedError(f"pretrained index {path} does not exist; fix ${INDEX_ENV} or reinstall zoo.")
    except (OSError, ValueError) as error:
        raise PretrainedError(f"pretrained index {path} is not valid JSON ({error}); fix or remove it.")
    entries = data.get("checkpoints", {}) if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        raise PretrainedError(f"pretrained index {path} has no 'checkpoints' mapping; see zoo/pretrained/index.json.")
    return {name: Pretrained.from_dict(name, entry, Path(path)) for name, entry in entries.items()}


def registry() -> dict[str, Pretrained]:
    """Every registered pretrained checkpoint, by name (read afresh, so ``$ZOO_PRETRAINED_INDEX`` changes apply)."""
    entries: dict[str, Pretrained] = {}
    for path in index_files():
        entries.update(read_index(path))
    return entries


def aliases(entries: dict[str, Pretrained] | None = None) -> dict[str, str]:
    """``{alias: name}`` over the registered entries; an alias that is also an entry's name, or two entries' alias,
    is an error (a name must load one checkpoint)."""
    entries = registry() if entries is None else entries
    table: dict[str, str] = {}
    for entry in entries.values():
        for alias in entry.aliases:
            if alias in entries or table.get(alias, entry.name) != entry.name:
                other = alias if alias in entries else table[alias]
                raise PretrainedError(f"pretrained alias {alias!r} of {entry.name!r} is also {other!r}'s name or "
                                      "alias; give it to one entry only in the index.")
            table[alias] = entry.name
    return table


def list_pretrained() -> list[Pretrained]:
    """The registered checkpoints, sorted by name."""
    return sorted(registry().values(), key=lambda e: e.name)


def is_pretrained(name: str) -> bool:
    """Whether ``name`` is a registered pretrained checkpoint."""
    try:
        entries = registry()
        return name in entries or name in aliases(entries)
    except PretrainedError:
        return False


def get(name: str) -> Pretrained:
    """The entry registered as ``name`` or with ``name`` among its aliases; an unknown name is an error that lists
    the known ones."""
    entries = registry()
    alias_table = aliases(entries)
    if name in alias_table:
        return entries[alias_table[name]]
    if name not in entries:
        known = ", ".join(sorted([*entries, *alias_table])) or "none"
        raise PretrainedError(
            f"unknown pretrained checkpoint {name!r}. Known: {known}. `zoo pull --list` shows them with their "
            "metrics; a checkpoint file path works wherever a name does."
        )
    return entries[name]


# --- pulling -------------------------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """The download cache: ``<torch.hub.get_dir()>/zoo`` (honours ``$TORCH_HOME`` and ``$XDG_CACHE_HOME``)."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "zoo"


def sha256_of(path: str | Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pull(name: str | Pretrained, force: bool = False, progress: bool = True) -> Path:
    """The local path of a verified copy of a pretrained checkpoint, downloading it into the cache if needed.

    A shipped entry (``file``) is verified in place. A cached copy whose sha256 is right is a cache hit (no
    network); one that changed on disk is fetched again. ``force`` fetches again regardless.
    """
    entry = get(name) if isinstance(name, str) else name
    if entry.file:
        path = entry.shipped_path
        if not path.is_file():
            raise PretrainedError(f"{entry.name}: the shipped file {path} is missing; reinstall zoo (pip install .).")
        _verify(entry, path, f"the shipped file {path}", "reinstall zoo (pip install -e .) to restore it")
        return path
    target = entry.cache_path
    if target.is_file() and not force:
        if sha256_of(target) == entry.sha256:
            return target
        _say(f"zoo: {target} does not match its sha256 (changed on disk); downloading {entry.name} again")
    _download(entry, target, progress)
    return target


def _download(entry: Pretrained, target: Path, progress: bool) -> None:
    """Fetch ``entry`` to ``target``: into a temporary file beside it, checked, then moved into place atomically.

    ``torch.hub.download_url_to_file`` does the transfer (with a progress bar) into its own ``.partial`` file and
    moves it to our staging name; we then check the size (a connection that closes early is not an error to
    Python's HTTP client, so a truncated body shows up only as a short file) and the full sha256, and only then
    rename it to ``target``. Every failure removes the staging file, so the cache never holds a bad copy.
    """
    import torch.hub

    url = entry.source_url
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PretrainedError(f"{entry.name}: cannot create the cache folder {target.parent} ({error}); "
                              "set $TORCH_HOME to a writable folder.") from error
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex}.download")
    _say(f"zoo: downloading {entry.name} ({_megabytes(entry.size)}) from {url}")
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
        _verify(entry, staging, f"the file downloaded from {url}",
                "nothing was cached. Pull again; if it persists the server holds a different file than the index "
                "describes: update zoo or tell the publisher")
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)


def _verify(entry: Pretrained, path: Path, what: str, fix: str) -> None:
    size = path.stat().st_size
    digest = sha256_of(path)
    if digest != entry.sha256 or size != entry.size:
        raise PretrainedError(
            f"{entry.name}: hash mismatch: {what} has sha256 {digest} ({size} bytes), the index says "
            f"{entry.sha256} ({entry.size} bytes); the file is corrupt or not the published one. Fix: {fix}."
        )


def load_pretrained(name: str, map_location: Any = "cpu", progress: bool = True):
    """Pull (if needed) and load a registered checkpoint: the model, in eval mode, ready to ``sample``."""
    from zoo.checkpoint import load

    return load(pull(name, progress=progress), map_location=map_location)


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
