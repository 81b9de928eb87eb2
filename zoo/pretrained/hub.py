"""``hf`` entries: files of Hugging Face Hub model repositories, fetched and cached by ``huggingface_hub``.

The library keeps the file in its cache (``$HF_HUB_CACHE``, by default ``~/.cache/huggingface/hub``), resolves the
entry's revision (a branch, tag or commit), honours ``HF_HUB_OFFLINE``, a mirror in ``HF_ENDPOINT`` and the token of
``hf auth login`` or ``$HF_TOKEN`` for private repositories (it reads these variables when first imported). zoo
checks what it returns against the index's size and sha256 and turns its errors into one line that names the entry,
the repository and the fix.
"""

from pathlib import Path

import huggingface_hub
from huggingface_hub.errors import (GatedRepoError, HfHubHTTPError, RemoteEntryNotFoundError, RepositoryNotFoundError,
                                    RevisionNotFoundError)
from huggingface_hub.utils import silent_tqdm

from zoo.checkpoint_errors import PretrainedError
from zoo.pretrained.index import Pretrained
from zoo.pretrained.verify import verify

LOGIN = "log in with `hf auth login` (or set $HF_TOKEN)"


def cached(entry: Pretrained) -> Path | None:
    """The library's cached copy of ``entry`` at its revision, or None (no network)."""
    path = huggingface_hub.try_to_load_from_cache(entry.hf["repo"], entry.hf["filename"], revision=entry.revision)
    return Path(path) if isinstance(path, str) else None


def fetch(entry: Pretrained, force: bool, progress: bool) -> Path:
    """Download ``entry`` into the library's cache (again, replacing the cached bytes, when ``force``) and verify it."""
    if huggingface_hub.is_offline_mode():
        raise PretrainedError(
            f"{entry.name}: HF_HUB_OFFLINE is set and the Hub cache ({huggingface_hub.constants.HF_HUB_CACHE}) holds "
            f"no intact copy of {entry.source_url}. Fix: unset HF_HUB_OFFLINE to download it, or pull it once online."
        )
    try:
        path = huggingface_hub.hf_hub_download(entry.hf["repo"], entry.hf["filename"], revision=entry.revision,
                                               force_download=force, library_name="zoo",
                                               tqdm_class=None if progress else silent_tqdm)
    except Exception as error:  # only the library runs here: HTTP, network, disk and argument errors
        raise PretrainedError(_explain(entry, error)) from error
    verify(entry, Path(path), f"the file downloaded from {entry.source_url}",
           "pull again; if it persists the repository holds another file than the index describes (pin its "
           "revision in the index, update zoo or tell the publisher). zoo checks the cached copy on every use")
    return Path(path)


def _explain(entry: Pretrained, error: Exception) -> str:
    """One line: what the Hub (or the network) said about ``entry``, and what to do."""
    repo, filename, url = entry.hf["repo"], entry.hf["filename"], entry.source_url
    if isinstance(error, GatedRepoError):
        return f"{entry.name}: {repo} is gated ({url}). Fix: accept its conditions on its Hub page and {LOGIN}."
    if isinstance(error, RepositoryNotFoundError):
        return (f"{entry.name}: the Hub has no repository {repo} ({url}), or it is private and no token with access "
                f"was found. Fix: correct hf.repo in the index, or {LOGIN} for a private repository.")
    if isinstance(error, RevisionNotFoundError):
        return (f"{entry.name}: {repo} has no revision {entry.revision!r} ({url}). Fix: give hf.revision in the index "
                "as a branch, tag or commit of the repository.")
    if isinstance(error, RemoteEntryNotFoundError):
        return (f"{entry.name}: {repo} has no file {filename} at revision {entry.revision!r} ({url}). Fix: upload it "
                f"(`hf upload {repo} FOLDER .`), or correct hf.filename in the index.")
    if isinstance(error, HfHubHTTPError) and error.response is not None:
        return (f"{entry.name}: the Hub answered {error.response.status_code} for {url}. Fix: {LOGIN} if the "
                "repository is private; else try again later, or download the file and pass its path as the "
                "checkpoint.")
    cause = error.__cause__ or error
    detail = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return (f"{entry.name}: cannot fetch {url} ({type(cause).__name__}: {detail}). Fix: check the network (and proxy "
            "settings, $HF_ENDPOINT), try again later, or download the file elsewhere and pass its path as the "
            f"checkpoint (sha256 {entry.sha256}).")
