"""Close matches for a name that is not known ("did you mean ...?"): the closest known names (configs, models,
pretrained entries, extractors, sampler modes, metrics), found by the standard library's :mod:`difflib`."""

import difflib
from collections.abc import Iterable


def closest(name: str, known: Iterable[str], count: int = 3) -> list[str]:
    """Up to ``count`` of ``known`` that look like ``name`` (case-insensitively), the closest first."""
    by_lower = {}
    for candidate in known:
        by_lower.setdefault(str(candidate).lower(), str(candidate))
    matches = difflib.get_close_matches(str(name).lower(), list(by_lower), n=count, cutoff=0.6)
    return [by_lower[match] for match in matches]


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` Did you mean 'x' (or 'y')?`` for the closest known names, or ``""`` when none is close."""
    matches = closest(name, known)
    if not matches:
        return ""
    quoted = [repr(match) for match in matches]
    return f" Did you mean {' or '.join([', '.join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted)}?"


class UnknownName(KeyError):
    """A name (model, pretrained entry, extractor, ...) that nothing is registered under; says the close ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def unknown(kind: str, name: str, known: Iterable[str], listed: str = "", error: type = UnknownName) -> Exception:
    """The ``error`` for an unknown ``kind`` called ``name``: the close matches among ``known``, then ``listed``
    (where to see them all)."""
    return error(f"unknown {kind} {name!r}.{did_you_mean(name, known)}" + (f" {listed}" if listed else ""))
