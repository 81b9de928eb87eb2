"""Fashion-MNIST: Zalando clothing images, 1x28x28, 10 classes, 60000 training and 10000 test images.

Batches are float32 images in [-1, 1] (0 -> -1.0, 255 -> 1.0) with int64 labels 0..9. The dataset is looked for
in this order: the torchvision layout ``data_dir/FashionMNIST/raw/*-ubyte``; the same files gzipped (``*-ubyte.gz``)
in that folder, then those of the Debian package ``dataset-fashion-mnist`` (either decompressed once into that
folder); a torchvision download.
"""

from pathlib import Path

from torchvision import datasets

from .mnist import IDX_FILES, IDXDataModule

SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"
"""Where the Debian package ``dataset-fashion-mnist`` installs the gzipped IDX files."""


class FashionMNISTDataModule(IDXDataModule):
    """Fashion-MNIST; see the module docstring for where the files are looked for.

    Args:
        data_dir: Root folder; the files go to ``data_dir/FashionMNIST/raw/``.
        batch_size: Images per batch (per process under DDP).
        num_workers: Unused (the data is batched in memory); kept for a uniform interface.
        val_size: Training images held out as the validation split, chosen by a permutation seeded with ``seed``.
        image_size: Height and width to resize to once at setup; None keeps 28.
        seed: Seed of the validation split and of the shuffling order.
        download: Download the dataset if it is found nowhere on disk (needs internet access).
        train_subset: Use only the first N training images after the split.
        system_dir: Folder of the Debian package's gzipped IDX files.
    """

    dataset_cls = datasets.FashionMNIST
    name = "Fashion-MNIST"
    class_names = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot")
    default_extractor = "fmnist-classifier"  # zoo's shipped classifier (zoo.metrics.classifier)

    def __init__(
        self,
        data_dir: str = "data",
        batch_size: int = 64,
        num_workers: int = 0,
        val_size: int = 5000,
        image_size: int | None = None,
        seed: int = 0,
        download: bool = True,
        train_subset: int | None = None,
        system_dir: str = SYSTEM_DIR,
    ) -> None:
        super().__init__(data_dir, batch_size, num_workers, val_size, image_size, seed, download, train_subset)
        self.system_dir = system_dir

    def gzip_dirs(self) -> list[Path]:
        """The torchvision folder, then the Debian package's folder."""
        return [self.raw_dir, Path(self.system_dir)]

    def gzip_fix(self, folder: Path) -> str:
        """Reinstall the Debian package's files; replace or delete a copied one."""
        if folder == Path(self.system_dir):
            return "reinstall it with `apt-get install --reinstall dataset-fashion-mnist`"
        return super().gzip_fix(folder)

    def remedy(self) -> str:
        """Install the Debian package, copy the files, or download."""
        files = ", ".join(IDX_FILES)
        return (
            "`apt-get install dataset-fashion-mnist` (installs the files in "
            f"{SYSTEM_DIR}), or put the four IDX files ({files}), uncompressed or gzipped as NAME.gz, in "
            f"{self.raw_dir.resolve()}/, or run once with download=True on a machine with internet access."
        )
