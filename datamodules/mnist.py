"""MNIST, and the base class shared by the datasets stored as IDX files (MNIST, Fashion-MNIST).

Images are 1x28x28, held in memory as uint8 and served as float32 in [-1, 1] (0 -> -1.0, 255 -> 1.0) by
:class:`~datamodules.base.InMemoryLoader`; labels are int64 class indices 0..9.
"""

import struct
from pathlib import Path
from typing import ClassVar

import torch
from torchvision import datasets

from .base import ImageDataModule, TensorSplit, corrupt_file, dataset_not_found

IMAGES_MAGIC = 0x00000803
"""IDX magic of a uint8 array with 3 dimensions (N, H, W)."""
LABELS_MAGIC = 0x00000801
"""IDX magic of a uint8 array with 1 dimension (N,)."""

IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
"""The four uncompressed files torchvision expects in ``<root>/<Dataset>/raw/``."""


def read_idx_shape(path: Path, magic: int) -> tuple[int, ...]:
    """Check an IDX file's header and size against ``magic`` and return its array shape.

    Args:
        path: The IDX file.
        magic: Expected magic number; its low byte is the number of dimensions.

    Raises:
        CorruptDatasetError: Wrong magic number, or a file size that does not match the header.
    """
    ndim = magic & 0xFF
    header_size = 4 * (1 + ndim)
    with open(path, "rb") as f:
        header = f.read(header_size)
    if len(header) < header_size:
        raise corrupt_file(path, f"the file is only {len(header)} bytes long, too short for an IDX header")
    found, *shape = struct.unpack(f">{1 + ndim}I", header)
    if found != magic:
        raise corrupt_file(path, f"bad IDX magic number 0x{found:08x} (expected 0x{magic:08x})")
    expected = header_size + int(torch.tensor(shape).prod())
    actual = path.stat().st_size
    if actual != expected:
        raise corrupt_file(path, f"the header promises {expected} bytes of shape {tuple(shape)} but it has {actual}")
    return tuple(shape)


class IDXDataModule(ImageDataModule):
    """Base of the MNIST-family DataModules, read through ``torchvision.datasets.MNIST`` or a subclass.

    Subclasses set ``dataset_cls`` and may override :meth:`fetch_local` and :meth:`remedy`.
    """

    dataset_cls: ClassVar[type[datasets.MNIST]]
    native_shape = (1, 28, 28)
    num_classes = 10

    @property
    def raw_dir(self) -> Path:
        """The torchvision folder holding the uncompressed IDX files."""
        return self.root / self.dataset_cls.__name__ / "raw"

    def files_present(self) -> bool:
        """Whether all four IDX files are in :attr:`raw_dir`."""
        return all((self.raw_dir / name).is_file() for name in IDX_FILES)

    def fetch_local(self) -> bool:
        """Copy the dataset into :attr:`raw_dir` from a local source; return whether it did."""
        return False

    def searched_dirs(self) -> list[Path]:
        """Folders searched for the dataset, for the not-found message."""
        return [self.raw_dir]

    def remedy(self) -> str:
        """How to get the dataset, for the not-found message."""
        files = "\n".join(f"        {name}" for name in IDX_FILES)
        return (
            "run once with download=True on a machine with internet access, or copy the torchvision folder "
            f"layout into data_dir:\n  {self.root.resolve()}/\n    {self.dataset_cls.__name__}/\n      raw/\n{files}"
        )

    def prepare_data(self) -> None:
        """Make the IDX files available: already there, copied from a local source, or downloaded."""
        if self.files_present() or self.fetch_local():
            return
        if not self.download:
            raise dataset_not_found(self.name, self.searched_dirs(), self.remedy(), None)
        try:
            self.dataset_cls(self.data_dir, train=True, download=True)
        except (RuntimeError, OSError) as error:
            raise dataset_not_found(self.name, self.searched_dirs(), self.remedy(), error) from error

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

    The files live in ``data_dir/MNIST/raw/``; see :class:`~datamodules.base.ImageDataModule` for the arguments
    (``num_workers`` is unused: the data is batched in memory).
    """

    dataset_cls = datasets.MNIST
    name = "MNIST"
