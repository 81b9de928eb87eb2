"""Lightning DataModules of the image datasets of the zoo.

Every DataModule yields ``(images, labels)`` batches: ``images`` float32 (B, C, H, W) with pixel values in
[-1, 1] (uint8 ``v`` -> ``v / 127.5 - 1``), ``labels`` int64 class indices (B,), or (B, 40) 0/1 attributes for
CelebA. ``image_shape`` (C, H, W), ``num_classes``, ``class_names`` and ``dataset_size`` (the training split's
images) are known right after construction, before any image is read.
"""

from .base import (CorruptDatasetError, DatasetNotFoundError, DataSplitError, ImageDataModule, InMemoryLoader,
                   TensorSplit)
from .celeba import CelebADataModule
from .cifar10 import CIFAR10DataModule
from .fashion_mnist import FashionMNISTDataModule
from .image_folder import ImageFolderDataModule
from .mnist import IDXDataModule, MNISTDataModule
from .synthetic import SyntheticDataModule

__all__ = [
    "CelebADataModule",
    "CIFAR10DataModule",
    "CorruptDatasetError",
    "DatasetNotFoundError",
    "DataSplitError",
    "FashionMNISTDataModule",
    "IDXDataModule",
    "ImageFolderDataModule",
    "ImageDataModule",
    "InMemoryLoader",
    "MNISTDataModule",
    "SyntheticDataModule",
    "TensorSplit",
]
