"""MNIST, and the base class shared by the datasets stored as IDX files (MNIST, Fashion-MNIST).

Images are 1x28x28, held in memory as uint8 and served as float32 in [-1, 1] (0 -> -1.0, 255 -> 1.0) by
:class:`~datamodules.base.InMemoryLoader`; labels are int64 class indices 0..9 (``class_names``: MNIST's digits
"0".."9", Fashion-MNIST's ten kinds of clothing).
"""

import gzip
import shutil
import struct
import zlib
from pathlib import Path
from typing import ClassVar

import torch
from torchvision import datasets

from .base import ImageDataModule, TensorSplit, atomic_path, corrupt_file, dataset_not_found

IMAGES_MAGIC = 0x00000803
"""IDX magic of a uint8 array with 3 dimensions (N, H, W)."""
LABELS_MAGIC = 0x00000801
"""IDX magic of a uint8 array with 1 dimension (N,)."""

IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
"""The four uncompressed files torchvision expects in ``<root>/<Dataset>/raw/``."""


def read_idx_shape(path: Path, magic: int, named: Path | None = None, fix: str | None = None) -> tuple[int, ...]:
    """Check an IDX file's header and size against ``magic`` and return its array shape.

    Args:
        path: The IDX file.
        magic: Expected magic number; its low byte is the number of dimensions.
        named: The file the error names (default ``path``), e.g. the ``.gz`` that ``path`` was decompressed from.
        fix: What the error tells the user to do (default: delete it and download again).

    Raises:
        CorruptDatasetError: Wrong magic number, or a file size that does not match the header.
    """
    named = named or path
    ndim = magic & 0xFF
    header_size = 4 * (1 + ndim)
    with open(path, "rb") as f:
        header = f.read(header_size)
    if len(header) < header_size:
        raise corrupt_file(named, f"the file is only {len(header)} bytes long, too short for an IDX header", fix)
    found, *shape = struct.unpack(f">{1 + ndim}I", header)
    if found != magic:
        raise corrupt_file(named, f"bad IDX magic number 0x{found:08x} (expected 0x{magic:08x})", fix)
    expected = header_size + int(torch.tensor(shape).prod())
    actual = path.stat().st_size
    if actual != expected:
        raise corrupt_file(named, f"the header promises {expected} bytes of shape {tuple(shape)} but it has {actual}",
                           fix)
    return tuple(shape)


def idx_magic(name: str) -> int:
    """The IDX magic number of one of :data:`IDX_FILES`: images (N, H, W) or labels (N,)."""
    return IMAGES_MAGIC if "-images-" in name else LABELS_MAGIC


def gunzip(source: Path, target: Path, fix: str) -> None:
    """Decompress the gzipped IDX file ``source`` to ``target`` atomically (concurrent callers never see a partial
    file), checking the IDX header and size of what it holds first.

    Args:
        source: ``NAME.gz``, ``NAME`` one of :data:`IDX_FILES`.
        target: Where the decompressed file goes.
        fix: What to do about a corrupt ``source``, for the error.

    Raises:
        CorruptDatasetError: ``source`` is not a valid, complete gzip file, or does not hold that IDX array.
    """
    try:
        with atomic_path(target) as temporary:
            with gzip.open(source, "rb") as src, open(temporary, "wb") as dst:
                shutil.copyfileobj(src, dst, length=1 << 20)
            read_idx_shape(temporary, idx_magic(target.name), named=source, fix=fix)
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise corrupt_file(source, f"it cannot be decompressed ({error})", fix) from error


class IDXDataModule(ImageDataModule):
    """Base of the MNIST-family DataModules, read through ``torchvision.datasets.MNIST`` or a subclass.

    Subclasses set ``dataset_cls`` and may override :meth:`gzip_dirs`, :meth:`gzip_fix` and :meth:`remedy`.
    """

    dataset_cls: ClassVar[type[datasets.MNIST]]
    native_shape = (1, 28, 28)

    @property
    def raw_dir(self) -> Path:
        """The torchvision folder holding the uncompressed IDX files."""
        return self.root / self.dataset_cls.__name__ / "raw"

    def files_present(self) -> bool:
        """Whether all four IDX files are in :attr:`raw_dir`."""
        return all((self.raw_dir / name).is_file() for name in IDX_FILES)

    def gzip_dirs(self) -> list[Path]:
        """Folders searched, in order, for the four files gzipped (``NAME.gz``, as downloaded or packaged)."""
        return [self.raw_dir]

    def gzip_fix(self, folder: Path) -> str:
        """What to do about a corrupt ``.gz`` file found in ``folder``."""
        return "copy an intact file there again, or delete it (the dataset is then looked for elsewhere)"

    def fetch_local(self) -> bool:
        """Decompress into :attr:`raw_dir` the ``.gz`` files of the first of :meth:`gzip_dirs` that holds all four;
        return whether one did."""
        for folder in self.gzip_dirs():
            sources = [folder / f"{name}.gz" for name in IDX_FILES]
            if all(source.is_file() for source in sources):
                self.raw_dir.mkdir(parents=True, exist_ok=True)
                for source, name in zip(sources, IDX_FILES):
                    gunzip(source, self.raw_dir / name, self.gzip_fix(folder))
                return True
        return False

    def searched_dirs(self) -> list[Path]:
        """Folders searched for the dataset, for the not-found message."""
        return list(dict.fromkeys([self.raw_dir, *self.gzip_dirs()]))

    def remedy(self) -> str:
        """How to get the dataset, for the not-found message."""
        files = "\n".join(f"        {name}" for name in IDX_FILES)
        return (
            "run once with download=True on a machine with internet access, or copy the torchvision folder "
            f"layout into data_dir (each file uncompressed or as NAME.gz):\n  {self.root.resolve()}/\n"
            f"    {self.dataset_cls.__name__}/\n      raw/\n{files}"
        )

    def partial_copies(self) -> str:
        """A line per searched folder that holds some but not all four files (not used: the set is incomplete)."""
        lines = []
        for folder in self.searched_dirs():
            found = [name for name in IDX_FILES if (folder / name).is_file() or (folder / f"{name}.gz").is_file()]
            if 0 < len(found) < len(IDX_FILES):
                missing = ", ".join(name for name in IDX_FILES if name not in found)
                lines.append(f"\n{folder.resolve()} holds {len(found)} of the 4 files, not used (missing: {missing})")
        return "".join(lines)

    def not_found(self, download_error: BaseException | None) -> Exception:
        """The error for a dataset found nowhere: where it was looked for, partial copies, and how to get it."""
        return dataset_not_found(self.name, self.searched_dirs(), self.remedy() + self.partial_copies(), download_error)

    def training_pool_size(self) -> int:
        """The image count in the training images' IDX header (the uncompressed file, else the first ``.gz`` found;
        8 bytes read), or the published 60000 while neither is on disk."""
        name = IDX_FILES[0]
        for path in [self.raw_dir / name, *(folder / f"{name}.gz" for folder in self.gzip_dirs())]:
            if not path.is_file():
                continue
            try:
                with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as f:
                    magic, count = struct.unpack(">II", f.read(8))
            except (OSError, EOFError, zlib.error, struct.error):
                continue  # a corrupt file is named when the images are loaded
            if magic == IMAGES_MAGIC:
                return count
        return 60000

    def prepare_data(self) -> None:
        """Make the IDX files available: already there, decompressed from local ``.gz`` files, or downloaded."""
        if self.files_present() or self.fetch_local():
            return
        if not self.download:
            raise self.not_found(None)
        try:
            self.dataset_cls(self.data_dir, train=True, download=True)
        except (RuntimeError, OSError) as error:
            raise self.not_found(error) from error

    def load_tensors(self, train: bool) -> TensorSplit:
        """Load one split as uint8 (N, 1, 28, 28) images and int64 labels."""
        self.prepare_data()
        prefix = "train" if train else "t10k"
        image_file = self.raw_dir / f"{prefix}-images-idx3-ubyte"
        label_file = self.raw_dir / f"{prefix}-labels-idx1-ubyte"
        count, *size = read_idx_shape(image_file, IMAGES_MAGIC)
        if tuple(size) != self.native_shape[1:]:
            raise corrupt_file(image_file, f"its images are {size[0]}x{size[1]}, expected 28x28")
        if read_idx_shape(label_file, LABELS_MAGIC)[0] != count:
            raise corrupt_file(label_file, f"its label count does not match the {count} images in {image_file.name}")
        dataset = self.dataset_cls(self.data_dir, train=train, download=False)
        return TensorSplit(dataset.data.unsqueeze(1), dataset.targets)


class MNISTDataModule(IDXDataModule):
    """MNIST handwritten digits: 1x28x28, 10 classes, 60000 training and 10000 test images.

    The files live in ``data_dir/MNIST/raw/`` (uncompressed, or gzipped as ``NAME.gz``); see
    :class:`~datamodules.base.ImageDataModule` for the arguments (``num_workers`` is unused: the data is batched in
    memory).
    """

    dataset_cls = datasets.MNIST
    name = "MNIST"
    class_names = tuple(str(digit) for digit in range(10))
