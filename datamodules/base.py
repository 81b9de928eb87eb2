"""Shared pieces of the image data modules: the base DataModule, the in-memory loader and the errors.

Every batch is a tuple ``(images, labels)``. ``images`` is float32 of shape (B, C, H, W) with pixel values in
[-1, 1]: a uint8 value ``v`` becomes ``v / 127.5 - 1``, so 0 -> -1.0 and 255 -> 1.0 exactly (generators end in
``tanh``). ``labels`` are int64 class indices of shape (B,), or for CelebA a (B, k) tensor of 0/1 attributes
(``label_kind``).
``class_names`` names the classes (CelebA: the attributes) in label order.
"""

import inspect
import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, RandomSampler, SequentialSampler
from torchvision.transforms.v2 import functional as TF

from zoo.arguments import InvalidArgument, NonNegativeInt, PositiveInt, Seed, check_arguments, check_memory

Batch = tuple[Tensor, Tensor]


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is not on disk and could not be downloaded; the message says where we looked and how to get it."""


class CorruptDatasetError(ValueError):
    """A dataset file exists but its content is invalid; the message names the file."""


class DataSplitError(ValueError):
    """The requested split sizes leave no validation-free training batch (e.g. ``val_size`` >= the images)."""


def dataset_not_found(
    name: str, looked_in: Sequence[Path], remedy: str, download_error: BaseException | None
) -> DatasetNotFoundError:
    """Build the single error raised when a dataset is missing.

    Args:
        name: Human-readable dataset name.
        looked_in: Folders that were searched.
        remedy: How to get the dataset, possibly over several lines.
        download_error: Why the download failed, or None if no download was attempted.
    """
    folders = "\n".join(f"  - {Path(p).resolve()}" for p in looked_in)
    if download_error is None:
        attempt = "No download was attempted (download=False)."
    else:
        attempt = f"Downloading failed: {type(download_error).__name__}: {download_error}".strip()
    return DatasetNotFoundError(f"{name} not found. Looked in:\n{folders}\n{attempt}\nTo get it: {remedy}")


def corrupt_file(path: Path, problem: str, fix: str | None = None) -> CorruptDatasetError:
    """Build the error raised for a dataset file with invalid content.

    Args:
        path: The offending file.
        problem: What is wrong with it.
        fix: What the user should do (default: delete it and download the dataset again).
    """
    fix = fix or "delete it and download the dataset again"
    return CorruptDatasetError(f"Corrupt dataset file {Path(path).resolve()}: {problem}. Fix: {fix}.")


def check_data_dir(data_dir: str) -> None:
    """Refuse a ``data_dir`` that cannot be a folder (it, or a folder above it, is a file) before any work.

    Raises:
        InvalidArgument: naming the file in the way.
    """
    path = Path(data_dir)
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is None or existing.is_dir():
        return
    where = "is a file" if existing == path else f"lies under {existing}, which is a file"
    raise InvalidArgument(f"data_dir {data_dir!r} {where}, not a folder. Fix: give the folder that holds the "
                          "datasets (created if missing), e.g. --data.init_args.data_dir data.")


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target`` and move it onto ``target`` if the block succeeds.

    Readers, including other processes, never see a partially written ``target``.
    """
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(handle)
    try:
        yield Path(temporary)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def to_unit_range(images: Tensor) -> Tensor:
    """Convert a uint8 image batch to float32 in [-1, 1] in one pass."""
    return images.float().div_(127.5).sub_(1)


def resize_uint8(images: Tensor, size: int, chunk: int = 4096) -> Tensor:
    """Resize a uint8 (N, C, H, W) tensor to (N, C, size, size) with antialiased bilinear interpolation.

    Args:
        images: The images to resize.
        size: Target height and width.
        chunk: Images resized at once, to bound the temporary float memory.
    """
    if images.shape[-2:] == (size, size):
        return images
    if len(images) == 0:
        return images.new_empty((0, images.shape[1], size, size))
    return torch.cat([TF.resize(part, [size, size], antialias=True) for part in images.split(chunk)])


@dataclass(frozen=True)
class TensorSplit:
    """One split of an in-memory dataset."""

    images: Tensor
    """uint8 tensor (N, C, H, W)."""
    labels: Tensor
    """Labels indexed along the first dimension, N of them."""

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: slice | Tensor) -> "TensorSplit":
        """The images and labels selected by ``index`` along the first dimension."""
        return TensorSplit(self.images[index], self.labels[index])


class InMemoryLoader:
    """Batches a uint8 image tensor held in memory, without per-sample work.

    Each batch indexes the tensor with a slice of a permutation and converts the whole batch at once. Shuffling uses
    its own ``torch.Generator`` seeded with ``seed + epoch``, so the global RNG is never touched and every epoch's
    order is reproducible. The loader is stateful for exact resume (Lightning saves and restores ``state_dict`` of
    train loaders that have one): ``position`` counts the batches already yielded in ``epoch``. Only one iteration
    over a loader may be in progress at a time.

    For DDP every rank builds the same permutation, truncates it (``drop_last``) or pads it by wrapping around so it
    divides evenly, and takes ``perm[rank::world_size]``; all ranks therefore get the same number of batches.

    Args:
        images: uint8 tensor (N, C, H, W).
        labels: Labels indexed along the first dimension, N of them.
        batch_size: Images per batch.
        shuffle: Draw a new permutation every epoch instead of keeping the stored order.
        drop_last: Drop the last incomplete batch (and, across ranks, the samples that do not divide evenly).
        seed: Base seed of the per-epoch permutations.
        epoch: Epoch to start in.
        rank: Index of this process among ``world_size`` data-parallel processes.
        world_size: Number of data-parallel processes.
    """

    def __init__(
        self,
        images: Tensor,
        labels: Tensor,
        batch_size: int,
        shuffle: bool,
        drop_last: bool,
        seed: int = 0,
        epoch: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ValueError(f"images must be a uint8 (N, C, H, W) tensor, got {images.dtype} {tuple(images.shape)}")
        if len(labels) != len(images):
            raise ValueError(f"got {len(images)} images but {len(labels)} labels")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside world_size {world_size}")
        self.images = images
        self.labels = labels
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self.epoch = epoch
        self.position = 0
        self.rank = rank
        self.world_size = world_size

    @property
    def samples_per_rank(self) -> int:
        """Samples this rank sees per epoch."""
        n = len(self.images)
        return n // self.world_size if self.drop_last else math.ceil(n / self.world_size)

    def __len__(self) -> int:
        """Batches per epoch for this rank."""
        if self.drop_last:
            return self.samples_per_rank // self.batch_size
        return math.ceil(self.samples_per_rank / self.batch_size)

    def indices(self, epoch: int) -> Tensor:
        """The sample indices this rank visits in ``epoch``, in order."""
        n = len(self.images)
        if self.shuffle:
            order = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed + epoch))
        else:
            order = torch.arange(n)
        total = self.samples_per_rank * self.world_size
        if total > n:  # pad by wrapping around, like DistributedSampler
            order = order[torch.arange(total) % n]
        return order[:total][self.rank :: self.world_size]

    def __iter__(self) -> Iterator[Batch]:
        """Yield the remaining batches of the current epoch, then move on to the next epoch."""
        if self.position >= len(self):  # the previous epoch was fully consumed but not exhausted
            self.epoch += 1
            self.position = 0
        order = self.indices(self.epoch)
        for start in range(self.position * self.batch_size, len(self) * self.batch_size, self.batch_size):
            index = order[start : start + self.batch_size]
            self.position += 1
            yield to_unit_range(self.images.index_select(0, index)), self.labels.index_select(0, index)
        self.epoch += 1
        self.position = 0

    def state_dict(self) -> dict[str, int]:
        """Where iteration stands: the epoch and the batches already yielded in it."""
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        """Resume from a :meth:`state_dict`; the next iteration continues mid-epoch."""
        self.epoch = int(state_dict["epoch"])
        self.position = int(state_dict["position"])


class ImageDataModule(L.LightningDataModule):
    """Base of all image DataModules; see the module docstring for the batch format.

    Subclasses set ``native_shape`` and ``class_names`` and implement :meth:`load_tensors` (in-memory datasets) or
    override :meth:`load_fit_splits` / :meth:`load_test_split` (CelebA). A split is either a :class:`TensorSplit`,
    served by :class:`InMemoryLoader`, or a map-style ``Dataset`` of ready (image, label) samples, served by a
    ``DataLoader`` with a seeded sampler.

    Args:
        data_dir: Root folder of the datasets, in torchvision's layout.
        batch_size: Images per batch (per process under DDP).
        num_workers: DataLoader worker processes; only used by datasets decoded per sample (CelebA without cache).
        val_size: Training images held out as the validation split, chosen by a permutation seeded with ``seed``.
        image_size: Height and width to resize to once at setup; None keeps the native size.
        seed: Seed of the validation split and of the shuffling order.
        download: Download the dataset if it is missing (needs internet access).
        train_subset: Use only the first N training images after the split (quick runs and tests).
    """

    name: str
    """Human-readable dataset name, for messages."""
    native_shape: tuple[int, int, int]
    """(C, H, W) of the images as stored."""
    class_names: tuple[str, ...]
    """The classes' names in label order (CelebA: the attributes' names, in the order of the multi-hot vector)."""
    label_kind: str = "class"
    """What a label is: ``class`` (an int64 class index per image) or ``attributes`` (a 0/1 vector over the
    ``class_names``, CelebA's); linked into conditional models with ``num_classes`` and ``class_names``."""
    default_extractor: str | None = "inception"
    """The feature extractor zoo scores samples of this data with by default (``zoo evaluate``); None: none fits
    until the user trains one (:mod:`zoo.metrics.features`)."""

    def __init__(
        self,
        data_dir: str = "data",
        batch_size: PositiveInt = 64,
        num_workers: NonNegativeInt = 0,
        val_size: NonNegativeInt = 5000,
        image_size: PositiveInt | None = None,
        seed: Seed = 0,
        download: bool = True,
        train_subset: PositiveInt | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()  # checkpoints then say which data a model was trained on (zoo evaluate)
        accepted = inspect.signature(type(self).__init__).parameters  # not what a subclass fixes for the base
        for name in [name for name in self.hparams if name not in accepted and not name.startswith("_")]:
            del self.hparams[name]
        check_arguments(type(self), self.hparams)  # every range a data module's signature declares
        check_data_dir(data_dir)
        if image_size is not None:  # one batch of float32 images at that size must fit
            channels = self.native_shape[0] if hasattr(self, "native_shape") else 3
            check_memory(f"image_size={image_size} with batch_size={batch_size}",
                         4.0 * batch_size * channels * image_size**2, "use the images' native size or a few hundred px")
        self.data_dir = data_dir
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.val_size = val_size
        self.image_size = image_size
        self.seed = seed
        self.download = download
        self.train_subset = train_subset
        self.train_set: TensorSplit | Dataset | None = None
        self.val_set: TensorSplit | Dataset | None = None
        self.test_set: TensorSplit | Dataset | None = None

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of the images in a batch; known without loading any data."""
        channels, height, width = self.native_shape
        if self.image_size is None:
            return channels, height, width
        return channels, self.image_size, self.image_size

    @property
    def num_classes(self) -> int:
        """Number of classes (CelebA: number of binary attributes); known without loading any data."""
        return len(self.class_names)

    @property
    def dataset_size(self) -> int:
        """Images in the training split (after ``val_size`` and ``train_subset``), known without loading them: the N
        of estimators over the whole training set (β-TCVAE's minibatch-weighted sampling); linked into models that
        declare it, like ``num_classes``."""
        available = max(self.training_pool_size() - self.val_size, 0)
        return available if self.train_subset is None else min(available, self.train_subset)

    def training_pool_size(self) -> int:
        """Images the training and validation splits are drawn from, read from the files' headers or listings (the
        dataset's published count while it is not on disk yet). Every data module reports it."""
        raise NotImplementedError(f"{type(self).__name__} does not report the size of its training pool; define "
                                  "training_pool_size() (the images the training and validation splits come from)")

    @property
    def root(self) -> Path:
        """``data_dir`` as a path."""
        return Path(self.data_dir)

    def load_tensors(self, train: bool) -> TensorSplit:
        """Load the full training pool (``train=True``) or the test set at native size, as uint8 tensors.

        Implementations make the files available first (as :meth:`prepare_data` does) if they are missing.
        """
        raise NotImplementedError

    def load_fit_splits(self) -> tuple[TensorSplit | Dataset, TensorSplit | Dataset]:
        """Load the training pool and split off ``val_size`` images by a seeded permutation."""
        pool = self.load_tensors(train=True)
        if self.val_size >= len(pool):
            raise DataSplitError(f"val_size={self.val_size} leaves no training images out of {len(pool)}")
        order = torch.randperm(len(pool), generator=torch.Generator().manual_seed(self.seed))
        val_index = order[: self.val_size].sort().values
        train_index = order[self.val_size :].sort().values[: self.train_subset]
        self.check_training_batch(len(train_index))
        return self._resized(pool[train_index]), self._resized(pool[val_index])

    def check_training_batch(self, count: int, held_out: str | None = None) -> None:
        """Refuse a training split of ``count`` images that holds no complete batch (the incomplete last batch is
        dropped, so training would do nothing); ``held_out`` says what was split off (default: ``val_size``)."""
        if count < self.batch_size:
            held_out = held_out or f"val_size={self.val_size}"
            raise DataSplitError(f"batch_size={self.batch_size} is larger than the {count} training images "
                                 f"left after {held_out} (train_subset={self.train_subset}): no batch. Fix: lower "
                                 "batch_size or the held-out images, or use more images.")

    def load_test_split(self) -> TensorSplit | Dataset:
        """Load the test set."""
        return self._resized(self.load_tensors(train=False))

    def _resized(self, split: TensorSplit) -> TensorSplit:
        images = split.images if self.image_size is None else resize_uint8(split.images, self.image_size)
        return TensorSplit(images.contiguous(), split.labels)

    def setup(self, stage: str | None = None) -> None:
        """Load the splits that ``stage`` needs, once."""
        if stage in (None, "fit", "validate") and self.train_set is None:
            self.train_set, self.val_set = self.load_fit_splits()
        if stage in (None, "test") and self.test_set is None:
            self.test_set = self.load_test_split()

    def train_dataloader(self) -> InMemoryLoader | DataLoader:
        """Shuffled batches of the training split, incomplete last batch dropped."""
        self.setup("fit")
        return self._loader(self.train_set, train=True)

    def val_dataloader(self) -> InMemoryLoader | DataLoader:
        """Batches of the validation split in stored order."""
        self.setup("validate")
        return self._loader(self.val_set, train=False)

    def test_dataloader(self) -> InMemoryLoader | DataLoader:
        """Batches of the test split in stored order."""
        self.setup("test")
        return self._loader(self.test_set, train=False)

    def _loader(self, split: TensorSplit | Dataset, train: bool) -> InMemoryLoader | DataLoader:
        if isinstance(split, TensorSplit):
            trainer = self.trainer
            return InMemoryLoader(
                split.images,
                split.labels,
                self.batch_size,
                shuffle=train,
                drop_last=train,
                seed=self.seed,
                # A loader made in a later epoch (reloaded dataloaders, or a run resumed from a checkpoint written at
                # an epoch's end, before that epoch counts as completed) continues the sequence of permutations.
                epoch=trainer.fit_loop.epoch_progress.current.processed if trainer is not None and train else 0,
                rank=trainer.global_rank if trainer is not None else 0,
                world_size=trainer.world_size if trainer is not None else 1,
            )
        # Lightning swaps these samplers for a DistributedSampler under DDP.
        generator = torch.Generator().manual_seed(self.seed)
        sampler = RandomSampler(split, generator=generator) if train else SequentialSampler(split)
        return DataLoader(
            split,
            batch_size=self.batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            drop_last=train,
            persistent_workers=self.num_workers > 0,
            generator=generator,
        )
