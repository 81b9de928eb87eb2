"""Your own images: any folder of image files, decoded once into a uint8 cache and batched like Fashion-MNIST.

* **Classes**: the immediate sub-folders that hold images (sorted names = ``class_names``, as torchvision's
  ``ImageFolder``); images directly in ``root`` beside them belong to no class and are left out (a warning says how
  many). A folder without such sub-folders is one class, label 0, named after the folder. Images are found
  recursively (see :mod:`datamodules.image_files` for the formats and the decoding steps).
* **Size**: every image is centre-cropped to a square (keeping its aspect ratio) and resized to ``image_size``
  (default 64: every conv net in zoo makes 28, 32 or 64 px, and 64 keeps detail of photographs), converted to
  ``channels`` (1: greyscale, 3: RGB; transparency flattened onto white).
* **Cache**: decoded once into ``data_dir/image-folder-cache/<folder>-<hash of its path>-<C>x<size>.u8`` (the
  user's folder is never written to, so it may be read-only), keyed on every file's (relative path, size, mtime) and
  on ``image_size``/``channels``: any added, removed or changed file re-decodes the folder. The file is written
  atomically. A cache of at most ``memory_limit_gb`` is read into memory; a larger one is memory-mapped, and is
  decoded straight into the file, so a folder larger than memory trains too. When the cache cannot be written
  (read-only ``data_dir``, full disk), a folder that fits in memory is decoded in memory on every run (a warning
  says why); one that does not is refused, naming the space needed.
* **Splits**: the cache holds the images in a fixed random order (seed 0, whatever ``seed`` is), its first
  ``test_size`` images are the test split, the next ``val_size`` the validation split, the rest training. So every
  run on an unchanged folder is validated and tested on the same images, and each split is a slice of the cache (a
  memory-mapped cache is never copied). ``seed`` sets the shuffling order. There is no ``test``-sub-folder
  convention: a sub-folder named ``test`` is a class; keep a separate test folder and point ``root`` at the
  training images instead.
* **Unreadable files** are refused, all of them named (delete or replace them); with ``skip_corrupt=True`` they are
  left out, and a warning names them and gives the count. The cache records them, so switching ``skip_corrupt``
  does not decode again.
* **Small classes**: a class with a single image is a class like any other; a class with fewer images than the
  splits that hold images (training, validation, test) cannot be in every split, and a warning names it.
"""

import hashlib
import math
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated

import numpy as np
import torch
from lightning.pytorch.utilities import rank_zero_info, rank_zero_warn

from zoo.arguments import (InvalidArgument, NonNegativeFloat, NonNegativeInt, PositiveInt, Range, Seed, human_bytes,
                           memory_bytes, one_line)

from . import image_cache, image_files
from .base import CorruptDatasetError, DataSplitError, ImageDataModule, TensorSplit

SPLIT_SEED = 0
"""Seed of the fixed order of the cache, whose first images are the test, then the validation split."""
MAX_HELD_OUT = 5000
"""The most images ``val_size`` / ``test_size`` hold out by default (a tenth of the images otherwise)."""
NAMED = 5
"""Files named in a message before the rest are counted."""


def held_out(count: int) -> int:
    """The default ``val_size`` and ``test_size`` of ``count`` images: a tenth (rounded up), at most
    :data:`MAX_HELD_OUT`, none below 3 images."""
    return 0 if count < 3 else min(MAX_HELD_OUT, math.ceil(count / 10))


class ImageFolderDataModule(ImageDataModule):
    """The images of a folder (see the module docstring for classes, cache, splits and unreadable files).

    Args:
        root: The folder of images (sub-folders are classes).
        image_size: Side of the square images, after centre crop and resize.
        channels: 1 (greyscale) or 3 (RGB): every image is converted to it.
        data_dir: Folder of the decoded cache (``data_dir/image-folder-cache/``).
        batch_size: Images per batch (per process under DDP).
        num_workers: Threads decoding the folder when the cache is built (0: this thread); batches come from memory.
        val_size: Images held out as the validation split; None: a tenth, at most 5000 (none below 3 images).
        test_size: Images held out as the test split; None: as ``val_size``.
        seed: Seed of the shuffling order (the splits are fixed by the folder).
        train_subset: Use only the first N training images.
        skip_corrupt: Leave out files that cannot be decoded (named in a warning) instead of refusing them.
        memory_limit_gb: Caches up to this size are read into memory, larger ones memory-mapped; None: a quarter of
            the machine's memory.
    """

    name = "image folder"
    default_extractor = None  # no classifier knows the user's classes: zoo train-classifier --data image_folder

    def __init__(
        self,
        root: str,
        image_size: PositiveInt = 64,
        channels: Annotated[int, Range(1, 3, hint="1: greyscale, 3: RGB")] = 3,
        data_dir: str = "data",
        batch_size: PositiveInt = 64,
        num_workers: NonNegativeInt = 0,
        val_size: NonNegativeInt | None = None,
        test_size: NonNegativeInt | None = None,
        seed: Seed = 0,
        train_subset: PositiveInt | None = None,
        skip_corrupt: bool = False,
        memory_limit_gb: NonNegativeFloat | None = None,
    ) -> None:
        self.native_shape = (channels, image_size, image_size)
        super().__init__(data_dir, batch_size, num_workers, val_size, image_size, seed, False, train_subset)
        if channels == 2:
            raise InvalidArgument("channels must be 1 (greyscale) or 3 (RGB), got 2")
        self.folder = Path(root).expanduser().resolve()
        self.hparams["root"] = str(self.folder)  # checkpoints hold it absolute: zoo evaluate finds it from anywhere
        self.channels = channels
        self.skip_corrupt = skip_corrupt
        self.memory_limit_gb = memory_limit_gb
        self.listing = image_files.list_images(self.folder)
        self.class_names = self.listing.class_names
        count = len(self.listing.files)
        self.val_size = held_out(count) if val_size is None else val_size
        self.test_size = held_out(count) if test_size is None else test_size
        self.check_sizes(count)
        self.warn_about_listing()
        self._decoded: image_cache.Decoded | None = None

    # ------------------------------------------------------------------ what is known before decoding

    def check_sizes(self, count: int) -> None:
        """Refuse hold-outs that leave no training batch out of ``count`` images."""
        held = f"val_size={self.val_size} and test_size={self.test_size}"
        if self.val_size + self.test_size >= count:
            raise DataSplitError(f"{held} leave no training images out of the {count} images of {self.folder}. "
                                 "Fix: lower them (--data.init_args.val_size / test_size), or add images.")
        self.check_training_batch(min(count - self.val_size - self.test_size, self.train_subset or count), held)

    def warn_about_listing(self) -> None:
        """Warn about images left out, and about classes too small to be in every split."""
        if self.listing.unused:
            rank_zero_warn(f"{n_images(len(self.listing.unused))} directly in {self.folder} not used "
                           f"({named(self.listing.unused)}): its sub-folders are the classes, and these belong to "
                           "none. Move them into a class folder to use them.")
        splits = 1 + (self.val_size > 0) + (self.test_size > 0)
        small = [f"{name!r} ({n_images(n)})"
                 for name, n in zip(self.class_names, self.listing.class_counts()) if n < splits]
        if len(self.class_names) > 1 and small:
            rank_zero_warn(f"classes with fewer images than the {splits} splits (training, validation, test) cannot "
                           f"be in every split, and may be missing from training: {named(small)}. Add images to "
                           "them, or move them out of the folder.")

    def training_pool_size(self) -> int:
        """The listed images (the decoded ones once decoded, which ``skip_corrupt`` may leave fewer) less the test
        split."""
        count = len(self._decoded.rows) if self._decoded is not None else len(self.listing.files)
        return count - self.test_size

    def train_classifier_command(self, out: str = "classifier.pt") -> str:
        """The command that trains a classifier of these images, for FID/KID curves (``classifier:OUT``)."""
        return (f"zoo train-classifier --data image_folder --root {self.folder} --image-size {self.image_size} "
                f"--channels {self.channels} --out {out}")

    @property
    def cache_path(self) -> Path:
        """The cache file of this folder at this size and number of channels."""
        digest = hashlib.sha256(str(self.folder).encode()).hexdigest()[:12]
        stem = re.sub(r"[^\w.-]+", "_", self.folder.name) or "root"
        return Path(self.data_dir) / "image-folder-cache" / f"{stem}-{digest}-{self.channels}x{self.image_size}.u8"

    def memory_limit(self) -> float:
        """Bytes of cache held in memory; larger caches are memory-mapped."""
        return memory_bytes() / 4 if self.memory_limit_gb is None else self.memory_limit_gb * 1e9

    # ------------------------------------------------------------------ decoding and the cache

    def prepare_data(self) -> None:
        """Decode the folder into its cache, unless the cache is up to date."""
        self.decoded()

    def decoded(self) -> image_cache.Decoded:
        """The decoded images (from the cache, or decoded now and cached), once per data module."""
        if self._decoded is None:
            decoded = self.load_or_decode()
            self.check_skipped(decoded.skipped)
            self._decoded = decoded
        return self._decoded

    def load_or_decode(self) -> image_cache.Decoded:
        """The cache if it is up to date; else decode into memory (then cache) or, above the memory limit, straight
        into a memory-mapped cache file."""
        shape = (len(self.listing.files), *self.image_shape)
        in_memory = math.prod(shape) <= self.memory_limit()
        key = self.listing.key(self.image_size, self.channels)
        found = image_cache.read(self.cache_path, key, in_memory)
        if found is not None:
            return found
        rank_zero_info(f"decoding {n_images(shape[0])} of {self.folder} once into {self.cache_path}")
        if in_memory:
            decoded, trailer = image_cache.decode_in_memory(shape, self.fill)
            try:
                image_cache.save(self.cache_path, decoded, trailer, key)
            except OSError as error:
                rank_zero_warn(f"could not write the decoded images' cache {self.cache_path} ({one_line(error)}): "
                               "they are decoded again on every run. Fix: make data_dir writable, or free space.")
            return decoded
        try:
            image_cache.build_mapped(self.cache_path, shape, self.fill, key)
        except OSError as error:
            raise InvalidArgument(
                f"the {shape[0]} images of {self.folder} at {'x'.join(map(str, shape[1:]))} need "
                f"{human_bytes(math.prod(shape))}: more than the memory limit ({human_bytes(self.memory_limit())}), "
                f"and their memory-mapped cache could not be written in {self.cache_path.parent} "
                f"({one_line(error)}). Fix: free space there, set --data.init_args.data_dir to a folder on a disk "
                "with room, or lower image_size.") from None
        return image_cache.read(self.cache_path, key, in_memory=False)

    def fill(self, array: np.ndarray) -> tuple[list[int], list[tuple[str, str]]]:
        """Decode the listed files in the fixed split order into ``array``'s first rows (:data:`image_cache.Fill`)."""
        files = self.listing.files
        order = torch.randperm(len(files), generator=torch.Generator().manual_seed(SPLIT_SEED)).tolist()
        rows, skipped = [], []
        for index, result in zip(order, self.decode_files([self.folder / files[i].path for i in order])):
            if isinstance(result, str):
                skipped.append((files[index].path, result))
            else:
                array[len(rows)] = result
                rows.append(index)
        return rows, skipped

    def decode_files(self, paths: list[Path]):
        """Each file decoded (an array), or why it could not be (a string), in order; ``num_workers`` threads."""
        def one(path: Path) -> np.ndarray | str:
            try:
                return image_files.decode(path, self.image_size, self.channels)
            except Exception as error:  # whatever Pillow raises for a file it cannot read
                return one_line(error, 120)

        if self.num_workers == 0:
            yield from map(one, paths)
            return
        with ThreadPoolExecutor(self.num_workers) as pool:
            for start in range(0, len(paths), 1024):  # bounded: results are consumed as they come
                yield from pool.map(one, paths[start : start + 1024])

    def check_skipped(self, skipped: tuple[tuple[str, str], ...]) -> None:
        """Refuse files that could not be decoded, or (``skip_corrupt``) name them in a warning."""
        if not skipped:
            return
        files = named([f"{self.folder / path} ({why})" for path, why in sorted(skipped)])
        total = len(self.listing.files)
        if len(skipped) == total:
            raise CorruptDatasetError(f"none of the {total} image files of {self.folder} can be decoded: {files}. "
                                      "Fix: check that they are images (Pillow reads them), or give another root.")
        if not self.skip_corrupt:
            raise CorruptDatasetError(
                f"{len(skipped)} of the {total} image files of {self.folder} cannot be decoded: {files}. Fix: delete "
                "or replace them, or leave them out: skip_corrupt=True (zoo fit: --data.init_args.skip_corrupt true; "
                "zoo train-classifier: --skip-corrupt).")
        rank_zero_warn(f"skip_corrupt: left out {len(skipped)} of the {total} image files of {self.folder}, which "
                       f"cannot be decoded: {files}")

    # ------------------------------------------------------------------ splits

    def splits(self) -> tuple[TensorSplit, TensorSplit, TensorSplit]:
        """The test, validation and training splits: consecutive slices of the cache (no copy)."""
        decoded = self.decoded()
        labels = torch.tensor([file.label for file in self.listing.files], dtype=torch.int64)
        data = TensorSplit(decoded.images, labels[decoded.rows])
        self.check_sizes(len(data))
        test, val = self.test_size, self.test_size + self.val_size
        return data[:test], data[test:val], data[val:][: self.train_subset]

    def load_fit_splits(self) -> tuple[TensorSplit, TensorSplit]:
        """The training and validation splits."""
        _, val, train = self.splits()
        return train, val

    def load_test_split(self) -> TensorSplit:
        """The test split."""
        if self.test_size == 0:
            raise DataSplitError(f"the image folder {self.folder} has no test split (test_size=0). Fix: set "
                                 "--data.init_args.test_size (the test images are held out of training).")
        return self.splits()[0]


def named(items: list[str] | tuple[str, ...]) -> str:
    """The first :data:`NAMED` of ``items``, comma-separated, and how many more there are."""
    more = f" and {len(items) - NAMED} more" if len(items) > NAMED else ""
    return ", ".join(items[:NAMED]) + more


def n_images(count: int) -> str:
    """``1 image``, ``2 images``."""
    return f"{count} image{'s' * (count != 1)}"
