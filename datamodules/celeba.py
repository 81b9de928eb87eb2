"""CelebA aligned faces, centre-cropped and resized (3x64x64 by default), with the official train/valid/test split.

Batches are float32 images in [-1, 1] (0 -> -1.0, 255 -> 1.0) and int64 (B, k) tensors of 0/1 attributes: all 40
(:data:`ATTRIBUTES`), or the ``attributes`` a config chooses (e.g. ``attributes: [Male, Smiling, Eyeglasses]``), in
that order; ``class_names`` names them, and a conditional model is conditioned on exactly those.
The ~200k JPEGs are decoded per sample by a ``DataLoader`` with ``num_workers`` processes; with ``cache=True``
each split is preprocessed once into a uint8 tensor file ``data_dir/celeba/cache_{split}_{size}.pt`` and
served from memory by :class:`~datamodules.base.InMemoryLoader` (about 2 GB for the training split at 64 px).
"""

from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, Subset
from torchvision import datasets
from torchvision.datasets.utils import check_integrity
from torchvision.transforms import v2

from zoo.arguments import InvalidArgument, PositiveInt
from zoo.names import did_you_mean

from .base import CorruptDatasetError, ImageDataModule, TensorSplit, atomic_path, corrupt_file, dataset_not_found

ATTRIBUTES = (
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs", "Big_Lips", "Big_Nose",
    "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows", "Chubby", "Double_Chin", "Eyeglasses",
    "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones", "Male", "Mouth_Slightly_Open", "Mustache",
    "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline", "Rosy_Cheeks",
    "Sideburns", "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat", "Wearing_Lipstick",
    "Wearing_Necklace", "Wearing_Necktie", "Young",
)
"""The 40 binary attributes, in the order of ``list_attr_celeba.txt`` and of torchvision's (B, 40) targets."""

IMAGE_FOLDER = "img_align_celeba"
"""Folder of the aligned JPEGs inside ``data_dir/celeba``."""


class CelebADataModule(ImageDataModule):
    """CelebA; see the module docstring.

    Args:
        data_dir: Root folder; the dataset lives in ``data_dir/celeba/`` (torchvision layout).
        batch_size: Images per batch (per process under DDP).
        num_workers: DataLoader worker processes decoding JPEGs (also used to build the cache).
        image_size: Height and width after cropping; None keeps ``crop_size``.
        crop_size: Side of the centre crop taken from the 178x218 aligned images.
        cache: Preprocess each split once to a uint8 tensor file and serve it from memory.
        seed: Seed of the shuffling order.
        download: Download the dataset if it is missing (needs internet access and ``gdown``).
        train_subset: Use only the first N images of the official training split.
        attributes: The attributes a label holds, by name (any case), in this order; None: all 40.
    """

    class_names = ATTRIBUTES
    name = "CelebA"
    label_kind = "attributes"

    def __init__(
        self,
        data_dir: str = "data",
        batch_size: int = 64,
        num_workers: int = 0,
        image_size: int | None = 64,
        crop_size: PositiveInt = 140,
        cache: bool = False,
        seed: int = 0,
        download: bool = True,
        train_subset: int | None = None,
        attributes: list[str] | None = None,
    ) -> None:
        super().__init__(data_dir, batch_size, num_workers, 0, image_size, seed, download, train_subset)
        self.attribute_indices = select_attributes(attributes)
        self.class_names = tuple(ATTRIBUTES[i] for i in self.attribute_indices)
        self.crop_size = crop_size
        self.cache = cache
        self.native_shape = (3, crop_size, crop_size)

    @property
    def folder(self) -> Path:
        """torchvision's CelebA folder."""
        return self.root / datasets.CelebA.base_folder

    def text_files(self) -> list[tuple[Path, str]]:
        """The annotation files torchvision reads, with their expected MD5s."""
        return [(self.folder / name, md5) for _, md5, name in datasets.CelebA.file_list if name.endswith(".txt")]

    def files_present(self) -> bool:
        """Whether the annotation files and the image folder exist."""
        return (self.folder / IMAGE_FOLDER).is_dir() and all(path.is_file() for path, _ in self.text_files())

    def remedy(self) -> str:
        """How to get the dataset, for the not-found message."""
        names = "\n".join(f"      {path.name}" for path, _ in self.text_files())
        return (
            "run once with download=True on a machine with internet access (needs `gdown`; Google Drive quotas "
            "often block it, then download the files from the CelebA website by hand), or copy the torchvision "
            f"folder layout into data_dir:\n  {self.root.resolve()}/\n    celeba/\n      {IMAGE_FOLDER}/"
            f"  (000001.jpg ... 202599.jpg, from img_align_celeba.zip)\n{names}"
        )

    def training_pool_size(self) -> int:
        """The images of the official training split (partition 0 of ``list_eval_partition.txt``), or its published
        162770 while the file is not on disk."""
        path = self.folder / "list_eval_partition.txt"
        if not path.is_file():
            return 162770
        return sum(1 for line in path.read_text().splitlines() if line.split()[1:2] == ["0"])

    def ensure_files(self) -> None:
        """Make the dataset available: already there or downloaded."""
        if self.files_present():
            return
        if not self.download:
            raise dataset_not_found(self.name, [self.folder], self.remedy(), None)
        try:
            datasets.CelebA(self.data_dir, split="train", download=True)
        except (RuntimeError, OSError) as error:
            raise dataset_not_found(self.name, [self.folder], self.remedy(), error) from error

    def prepare_data(self) -> None:
        """Make the dataset available and, with ``cache=True``, build the missing cache files."""
        self.ensure_files()
        if self.cache:
            for split in ("train", "valid", "test"):
                self.cached(split)

    def uint8_transform(self) -> v2.Compose:
        """PIL image -> centre-cropped, resized uint8 (3, size, size) tensor."""
        size = self.image_shape[1]
        steps = [v2.PILToTensor(), v2.CenterCrop(self.crop_size)]
        if size != self.crop_size:
            steps.append(v2.Resize([size, size], antialias=True))
        return v2.Compose(steps)

    def float_transform(self) -> v2.Compose:
        """PIL image -> float32 (3, size, size) tensor in [-1, 1]."""
        to_unit_range = [v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.5] * 3, [0.5] * 3)]
        return v2.Compose([self.uint8_transform(), *to_unit_range])

    def dataset(self, split: str, transform: v2.Compose, target_transform=None) -> datasets.CelebA:
        """torchvision's dataset of one official split ("train", "valid" or "test") with the 40 attributes as
        targets (or what ``target_transform`` makes of them)."""
        self.ensure_files()
        try:
            return datasets.CelebA(self.data_dir, split=split, target_type="attr", transform=transform,
                                   target_transform=target_transform)
        except (RuntimeError, ValueError, IndexError) as error:
            raise self.diagnose() from error

    def diagnose(self) -> CorruptDatasetError:
        """The error naming the first annotation file that does not match its checksum."""
        for path, md5 in self.text_files():
            if not check_integrity(str(path), md5):
                return corrupt_file(path, "its MD5 checksum does not match torchvision's")
        return CorruptDatasetError(f"torchvision could not read CelebA from {self.folder.resolve()}; download it again")

    def cache_path(self, split: str) -> Path:
        """Where the preprocessed uint8 tensors of ``split`` are stored."""
        return self.folder / f"cache_{split}_{self.image_shape[1]}.pt"

    def cached(self, split: str) -> TensorSplit:
        """Load the preprocessed ``split``, building the cache file first if it is missing or stale."""
        path = self.cache_path(split)
        if path.is_file():
            try:
                saved = torch.load(path, weights_only=True, mmap=True)
            except Exception as error:  # any failure to deserialize means a bad file
                fix = "delete it; it is rebuilt on the next run"
                raise corrupt_file(path, f"it cannot be loaded ({error})", fix) from error
            if saved["crop_size"] == self.crop_size:
                return TensorSplit(saved["images"], saved["labels"].long())
        dataset = self.dataset(split, self.uint8_transform())
        images = torch.empty((len(dataset), *self.image_shape), dtype=torch.uint8)
        labels = torch.empty((len(dataset), len(ATTRIBUTES)), dtype=torch.uint8)  # all 40, whichever are chosen
        start = 0
        for batch_images, batch_labels in DataLoader(
            dataset, batch_size=256, num_workers=self.num_workers, generator=torch.Generator()
        ):
            images[start : start + len(batch_images)] = batch_images
            labels[start : start + len(batch_images)] = batch_labels
            start += len(batch_images)
        with atomic_path(path) as temporary:
            torch.save({"images": images, "labels": labels, "crop_size": self.crop_size}, temporary)
        return TensorSplit(images, labels.long())

    def load_split(self, split: str) -> TensorSplit | Dataset:
        """One official split, in memory (``cache=True``) or decoded per sample, with the chosen attributes."""
        select = SelectAttributes(self.attribute_indices)
        if self.cache:
            cached = self.cached(split)
            return TensorSplit(cached.images, select(cached.labels))
        return self.dataset(split, self.float_transform(), select)

    def load_fit_splits(self) -> tuple[TensorSplit | Dataset, TensorSplit | Dataset]:
        """The official training split (first ``train_subset`` images) and validation split."""
        train = self.load_split("train")
        if self.train_subset is not None:
            if isinstance(train, TensorSplit):
                train = train[: self.train_subset]
            else:
                train = Subset(train, range(min(self.train_subset, len(train))))
        return train, self.load_split("valid")

    def load_test_split(self) -> TensorSplit | Dataset:
        """The official test split."""
        return self.load_split("test")


def select_attributes(names: list[str] | None) -> tuple[int, ...]:
    """The indices in :data:`ATTRIBUTES` of the attributes ``names`` (any case), in their order; all 40 for None.

    Raises:
        InvalidArgument: an unknown name (with the closest ones), a repeated name, or an empty list.
    """
    if names is None:
        return tuple(range(len(ATTRIBUTES)))
    if isinstance(names, str) or not names:
        raise InvalidArgument(f"attributes must be a non-empty list of CelebA attribute names (or null for all 40), "
                              f"got {names!r}")
    index = {name.lower(): i for i, name in enumerate(ATTRIBUTES)}
    chosen = []
    for name in names:
        if str(name).lower() not in index:
            raise InvalidArgument(f"attributes: CelebA has no attribute {name!r}.{did_you_mean(str(name), ATTRIBUTES)} "
                                  f"Its 40: {', '.join(ATTRIBUTES)}.")
        if index[str(name).lower()] in chosen:
            raise InvalidArgument(f"attributes: {name!r} is listed twice")
        chosen.append(index[str(name).lower()])
    return tuple(chosen)


class SelectAttributes:
    """The chosen attributes' columns of 40-attribute labels ((40,) or (N, 40)), as int64 (picklable, for the
    data loader's worker processes)."""

    def __init__(self, indices: tuple[int, ...]) -> None:
        self.indices = None if tuple(indices) == tuple(range(len(ATTRIBUTES))) else torch.tensor(indices)

    def __call__(self, labels: torch.Tensor) -> torch.Tensor:
        return labels.long() if self.indices is None else labels.long().index_select(-1, self.indices)
