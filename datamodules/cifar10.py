"""CIFAR-10: 3x32x32 colour images, 10 classes, 50000 training and 10000 test images.

Read through ``torchvision.datasets.CIFAR10`` from ``data_dir/cifar-10-batches-py/``, held in memory as uint8 and
served as float32 images in [-1, 1] (0 -> -1.0, 255 -> 1.0) with int64 labels 0..9.
"""

import pickle
from pathlib import Path

import torch
from torchvision import datasets
from torchvision.datasets.utils import check_integrity

from .base import CorruptDatasetError, ImageDataModule, TensorSplit, corrupt_file, dataset_not_found


class CIFAR10DataModule(ImageDataModule):
    """CIFAR-10; see :class:`~datamodules.base.ImageDataModule` for the arguments (``num_workers`` is unused)."""

    native_shape = (3, 32, 32)
    class_names = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
    name = "CIFAR-10"

    @property
    def folder(self) -> Path:
        """torchvision's folder of the python-pickled batches."""
        return self.root / datasets.CIFAR10.base_folder

    def files(self) -> list[tuple[Path, str]]:
        """Every file torchvision reads, with its expected MD5."""
        listed = datasets.CIFAR10.train_list + datasets.CIFAR10.test_list
        meta = datasets.CIFAR10.meta
        return [(self.folder / name, md5) for name, md5 in listed] + [(self.folder / meta["filename"], meta["md5"])]

    def remedy(self) -> str:
        """How to get the dataset, for the not-found message."""
        names = "\n".join(f"      {path.name}" for path, _ in self.files())
        return (
            "run once with download=True on a machine with internet access, or copy the torchvision folder "
            f"layout into data_dir (the extracted cifar-10-python.tar.gz):\n  {self.root.resolve()}/\n"
            f"    {self.folder.name}/\n{names}"
        )

    def training_pool_size(self) -> int:
        """The labels in the five training batches (unpickled once, about 0.2 s for the real files), or the published
        50000 while they are not on disk."""
        if getattr(self, "_pool_size", None) is None:
            paths = [self.folder / name for name, _ in datasets.CIFAR10.train_list]
            count = 50000
            if all(path.is_file() for path in paths):
                try:
                    count = 0
                    for path in paths:
                        with open(path, "rb") as f:
                            count += len(pickle.load(f, encoding="latin1")["labels"])
                except Exception:  # any unpickling failure: a corrupt file is named when the images are loaded
                    count = 50000
            self._pool_size = count
        return self._pool_size

    def prepare_data(self) -> None:
        """Make the batches available: already there or downloaded."""
        if all(path.is_file() for path, _ in self.files()):
            return
        if not self.download:
            raise dataset_not_found(self.name, [self.folder], self.remedy(), None)
        try:
            datasets.CIFAR10(self.data_dir, train=True, download=True)
        except (RuntimeError, OSError) as error:
            raise dataset_not_found(self.name, [self.folder], self.remedy(), error) from error

    def load_tensors(self, train: bool) -> TensorSplit:
        """Load one split as uint8 (N, 3, 32, 32) images and int64 labels."""
        self.prepare_data()
        try:
            dataset = datasets.CIFAR10(self.data_dir, train=train, download=False)
        except Exception as error:  # torchvision reports bad files vaguely; find the culprit
            raise self.diagnose() from error
        images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2).contiguous()
        return TensorSplit(images, torch.tensor(dataset.targets, dtype=torch.int64))

    def diagnose(self) -> CorruptDatasetError:
        """The error naming the first altered or unreadable file."""
        for path, md5 in self.files():
            if not check_integrity(str(path), md5):
                return corrupt_file(path, "it is missing or its MD5 checksum does not match torchvision's")
            try:
                with open(path, "rb") as f:
                    pickle.load(f, encoding="latin1")
            except Exception as error:  # any unpickling failure means a bad file
                return corrupt_file(path, f"it cannot be unpickled ({type(error).__name__}: {error})")
        return CorruptDatasetError(
            f"torchvision could not read CIFAR-10 from {self.folder.resolve()}; delete the folder and download again"
        )
