"""Published checkpoints: a registry (``index.json`` in this package), verified downloads, and loading by name.

Each entry of the index describes one model trained on one dataset: where the checkpoint lives, its sha256 and
size, the config it was trained with, the metrics measured on it and its licence. An entry is named after the
config it was trained with (``<config name without .yaml>``), so ``zoo.load(<config name>)`` is the rule to guess
by (``dcgan_fashion_mnist`` is the DCGAN trained with ``dcgan_fashion_mnist.yaml``); ``aliases`` lists other
names an entry answers to, e.g. a team's own short names in an index of ``$ZOO_PRETRAINED_INDEX``.

A checkpoint lives in one of:

- ``file``: a path relative to the index's folder (shipped inside this package, nothing to download);
- ``url``: an ``http(s)://`` or ``file://`` URL, downloaded into ``<torch.hub.get_dir()>/zoo/``
  (``$TORCH_HOME/hub/zoo``, by default ``~/.cache/torch/hub/zoo``);
- ``hf``: ``{"repo": "owner/name", "filename": "x.ckpt", "revision": "main"}``, a file of a Hugging Face Hub model
  repository, fetched by ``huggingface_hub`` into its cache (``$HF_HUB_CACHE``; ``HF_ENDPOINT``,
  ``HF_HUB_OFFLINE`` and tokens as the library reads them). ``zoo publish --hf-repo`` writes such releases.

Every copy is checked against the index's size and sha256 before use. The modules: :mod:`.index` (entries, names,
aliases), :mod:`.verify` (size and sha256), :mod:`.download` (pulling; ``url`` entries), :mod:`.hub` (``hf``
entries); :mod:`zoo.locate` turns a name or a path into a checkpoint file for :mod:`zoo.checkpoint`.

>>> import zoo
>>> model = zoo.load("vae_fashion_mnist")   # a registered name: pulled (if needed), verified, loaded
>>> images = model.sample(64)                # (64, 1, 28, 28) in [0, 1]
"""

from zoo.checkpoint_errors import PretrainedError
from zoo.pretrained.download import cache_dir, cache_path, pull
from zoo.pretrained.index import (FORMAT, INDEX_ENV, INDEX_FILE, Pretrained, aliases, get, index_files, is_pretrained,
                                  list_pretrained, read_index, registry)
from zoo.pretrained.verify import sha256_of

__all__ = [
    "FORMAT",
    "INDEX_ENV",
    "INDEX_FILE",
    "Pretrained",
    "PretrainedError",
    "aliases",
    "cache_dir",
    "cache_path",
    "get",
    "index_files",
    "is_pretrained",
    "list_pretrained",
    "pull",
    "read_index",
    "registry",
    "sha256_of",
]
