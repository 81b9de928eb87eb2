"""Progress bars for the long work of ``zoo sample`` and ``zoo evaluate`` (sampling, feature extraction, the IWAE
bound), like the bar Lightning shows while training.

Off by default, so library calls and training callbacks stay quiet; a command turns it on unless ``--no-progress``
is given, and it is never drawn when stderr is not a terminal (logs, pipes, tests).
"""

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

_enabled = False


@contextmanager
def shown(enabled: bool = True) -> Iterator[None]:
    """Within the block, :func:`progress` draws bars (when ``enabled`` and stderr is a terminal)."""
    global _enabled
    previous, _enabled = _enabled, enabled and sys.stderr.isatty()
    try:
        yield
    finally:
        _enabled = previous


def progress(items: Iterable, description: str, total: int | None = None) -> Iterable:
    """``items``, with a progress bar named ``description`` on stderr while bars are :func:`shown`."""
    if not _enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=description, total=total, leave=False, file=sys.stderr, dynamic_ncols=True)
