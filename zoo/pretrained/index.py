"""The registry of published checkpoints: entries read from ``index.json`` files, looked up by name or alias.

The shipped index (``zoo/pretrained/index.json``) comes first; ``$ZOO_PRETRAINED_INDEX`` names extra index files
(separated by ``os.pathsep``) whose entries are added to, or replace, the shipped ones. Files are read afresh on
every look-up, so a changed variable applies at once.
"""

import json
import os
import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from huggingface_hub import hf_hub_url

from zoo.checkpoint_errors import PretrainedError
from zoo.names import unknown

INDEX_FILE = "index.json"
INDEX_ENV = "ZOO_PRETRAINED_INDEX"
FORMAT = 1


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
    hf: dict | None = None  # {"repo": "owner/name", "filename": "x.ckpt", "revision": "main"}
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
        if data.get("hf") and not {"repo", "filename"} <= set(data["hf"]):
            raise PretrainedError(f"pretrained entry {where}: hf needs repo and filename (and may pin a revision), "
                                  'e.g. {"repo": "owner/name", "filename": "x.ckpt", "revision": "main"}.')
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
    def revision(self) -> str:
        """The Hub revision (branch, tag or commit) of an ``hf`` entry; ``main`` unless the entry pins one."""
        return (self.hf or {}).get("revision", "main")

    @property
    def source_url(self) -> str | None:
        """The URL to download from (``url``, or the Hub's resolve URL of ``hf``); None for a shipped file."""
        if self.hf:
            return hf_hub_url(self.hf["repo"], self.hf["filename"], revision=self.revision)
        return self.url

    @property
    def location(self) -> str:
        """Where the checkpoint lives, for people: the shipped file's path or the URL."""
        return str(self.shipped_path) if self.file else self.source_url

    @property
    def shipped_path(self) -> Path | None:
        if not self.file:
            return None
        base = self.index.parent if self.index is not None else Path(str(resources.files(__package__)))
        return base / self.file


def index_files() -> list[Path]:
    """The shipped index, then those named by ``$ZOO_PRETRAINED_INDEX`` (later files override earlier entries)."""
    files = [Path(str(resources.files(__package__) / INDEX_FILE))]
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
    """Every registered pretrained checkpoint, by name (read afresh, so ``$ZOO_PRETRAINED_INDEX`` changes apply). An
    extra index that cannot be read is reported (a warning, once) and skipped: it never hides the shipped entries."""
    entries, broken = _read_all()
    for problem in broken:
        if problem not in _REPORTED:
            _REPORTED.add(problem)
            warnings.warn(f"{problem} Its entries are left out; the other indexes are used.", stacklevel=2)
    return entries


_REPORTED: set[str] = set()


def _read_all() -> tuple[dict[str, Pretrained], list[str]]:
    """The entries of every readable index file, and what is wrong with the extra ones that cannot be read (the
    shipped index must be readable)."""
    entries: dict[str, Pretrained] = {}
    broken: list[str] = []
    for number, path in enumerate(index_files()):
        try:
            entries.update(read_index(path))
        except PretrainedError as error:
            if number == 0:
                raise
            broken.append(str(error))
    return entries, broken


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
    """The entry registered as ``name`` or with ``name`` among its aliases; an unknown name is an error that names
    the closest known ones, and any extra index that could not be read (the name may be in it)."""
    entries = registry()
    alias_table = aliases(entries)
    if name in alias_table:
        return entries[alias_table[name]]
    if name not in entries:
        broken = " ".join(f"Note: {problem}" for problem in _read_all()[1])
        known = sorted([*entries, *alias_table])
        raise unknown("pretrained checkpoint", name, known,
                      f"Known: {', '.join(known) or 'none'}. `zoo pull --list` shows them with their metrics;"
                      f" a checkpoint file path works wherever a name "
                      f"does.{' ' + broken if broken else ''}", PretrainedError)
    return entries[name]
