"""A tiny generated dataset for tests and smoke runs: no files, deterministic from the seed.

Each of the 10 classes is a bright bar on a dark, noisy background: classes 0-4 are horizontal bars at five
different heights, classes 5-9 vertical bars at five different columns, each jittered by up to one pixel and
tinted per class when there are several channels. Batches are float32 images in [-1, 1] (0 -> -1.0,
255 -> 1.0) with int64 labels 0..9.
"""

import math

import torch
from torch import Generator, Tensor

from zoo.arguments import InvalidArgument, NonNegativeInt, PositiveInt, check_memory

from .base import ImageDataModule, TensorSplit

NUM_CLASSES = 10
CLASS_NAMES = tuple(f"{direction}_{slot}" for direction in ("horizontal", "vertical") for slot in range(1, 6))
"""Classes 0-4: horizontal bars from the top down; 5-9: vertical bars from the left."""
ATTRIBUTE_NAMES = ("horizontal", *(f"slot_{slot}" for slot in range(1, 6)))
"""With ``attributes=True`` a label is a 0/1 vector: whether the bar is horizontal, then its slot one-hot."""


def bar_attributes(labels: Tensor) -> Tensor:
    """The (N, 6) 0/1 attribute vectors (:data:`ATTRIBUTE_NAMES`) of bar classes (N,)."""
    horizontal = (labels < NUM_CLASSES // 2).long()[:, None]
    slots = torch.nn.functional.one_hot(labels % (NUM_CLASSES // 2), NUM_CLASSES // 2)
    return torch.cat([horizontal, slots], dim=1)


def bar_images(labels: Tensor, shape: tuple[int, int, int], generator: Generator) -> Tensor:
    """Draw one uint8 bar image per label.

    Args:
        labels: Class indices 0..9, shape (N,).
        shape: (C, H, W) of the images.
        generator: Source of the jitter, brightness and noise.
    """
    channels, height, width = shape
    n = len(labels)
    horizontal = labels < NUM_CLASSES // 2
    slot = labels % (NUM_CLASSES // 2)
    extent = torch.where(horizontal, height, width)
    jitter = torch.randint(-1, 2, (n,), generator=generator)
    centre = ((2 * slot + 1) * extent) // NUM_CLASSES + jitter
    half_thickness = extent // 14
    rows = torch.arange(height).view(1, height, 1)
    cols = torch.arange(width).view(1, 1, width)
    across = torch.where(horizontal.view(n, 1, 1), rows, cols)  # coordinate across the bar
    along = torch.where(horizontal.view(n, 1, 1), cols, rows)  # coordinate along the bar
    length = torch.where(horizontal, width, height).view(n, 1, 1)
    on_bar = ((across - centre.view(n, 1, 1)).abs() <= half_thickness.view(n, 1, 1)) & (
        (along >= length // 8) & (along < length - length // 8)
    )
    brightness = torch.randint(180, 256, (n, 1, 1, 1), generator=generator).float()
    tint = 1.0 - 0.4 * ((labels.view(n, 1) + torch.arange(channels)) % 3 == 0).float()
    foreground = on_bar.unsqueeze(1).float() * brightness * tint.view(n, channels, 1, 1)
    noise = torch.rand((n, channels, height, width), generator=generator) * 40
    return torch.maximum(foreground, noise).round().to(torch.uint8)


class SyntheticDataModule(ImageDataModule):
    """Generated bar images (see the module docstring), held in memory.

    Args:
        shape: (C, H, W) of the generated images; H and W of at least 10 keep the classes distinct.
        num_images: Images in the training pool (training plus validation split).
        num_test_images: Images in the test split.
        data_dir: Unused (nothing is read); kept for a uniform interface.
        batch_size: Images per batch (per process under DDP).
        num_workers: Unused (the data is batched in memory).
        val_size: Images of the pool held out as the validation split.
        image_size: Height and width to resize to once at setup; None keeps ``shape``.
        seed: Seed of the images, the validation split and the shuffling order.
        download: Unused (nothing is downloaded).
        train_subset: Use only the first N training images after the split.
        attributes: Label each image with 0/1 attributes (:data:`ATTRIBUTE_NAMES`) instead of its class, as CelebA
            labels faces (tests of attribute-conditional models).
    """

    name = "synthetic bars"
    class_names = CLASS_NAMES

    def __init__(
        self,
        shape: tuple[int, int, int] = (1, 28, 28),
        num_images: PositiveInt = 512,
        num_test_images: NonNegativeInt = 128,
        data_dir: str = "data",
        batch_size: int = 64,
        num_workers: int = 0,
        val_size: int = 64,
        image_size: int | None = None,
        seed: int = 0,
        download: bool = True,
        train_subset: int | None = None,
        attributes: bool = False,
    ) -> None:
        super().__init__(data_dir, batch_size, num_workers, val_size, image_size, seed, download, train_subset)
        self.attributes = attributes
        if attributes:
            self.class_names, self.label_kind = ATTRIBUTE_NAMES, "attributes"
        if len(shape) != 3 or min(shape) < 1:
            raise InvalidArgument(f"shape must be three positive sizes (C, H, W), got {shape}")
        check_memory(f"num_images={num_images} + num_test_images={num_test_images} of shape {tuple(shape)}",
                     float(num_images + num_test_images) * math.prod(shape), "use a few thousand images at most")
        self.native_shape = tuple(shape)
        self.num_images = num_images
        self.num_test_images = num_test_images

    def training_pool_size(self) -> int:
        """``num_images``: the pool the training and validation splits are drawn from."""
        return self.num_images

    def load_tensors(self, train: bool) -> TensorSplit:
        """Generate the pool and the test set from one seeded stream and return the requested part."""
        generator = torch.Generator().manual_seed(self.seed)
        total = self.num_images + self.num_test_images
        labels = torch.randint(0, NUM_CLASSES, (total,), generator=generator)
        images = bar_images(labels, self.native_shape, generator)
        part = slice(0, self.num_images) if train else slice(self.num_images, total)
        return TensorSplit(images[part], (bar_attributes(labels) if self.attributes else labels)[part])
