"""Tests of the datamodules package: tiny files in each dataset's real on-disk format, loaded by the real code."""

import gzip
import struct
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch

from datamodules import (
    CelebADataModule,
    CIFAR10DataModule,
    CorruptDatasetError,
    DatasetNotFoundError,
    FashionMNISTDataModule,
    InMemoryLoader,
    MNISTDataModule,
    SyntheticDataModule,
)
from datamodules.fashion_mnist import SYSTEM_DIR
from tests import tiny_datasets
from tests.tiny_datasets import IDX_NAMES, patch_cifar_md5s, write_idx_folder


def unit_range(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(array).float() / 127.5 - 1


def collect(loader) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = zip(*loader)
    return torch.cat(images), torch.cat(labels)


@pytest.fixture
def mnist_arrays() -> dict[str, np.ndarray]:
    return tiny_datasets.mnist_arrays()


# ---------------------------------------------------------------- MNIST family


def test_mnist_reads_idx_files(tmp_path, mnist_arrays):
    write_idx_folder(tmp_path / "MNIST" / "raw", mnist_arrays)
    dm = MNISTDataModule(data_dir=str(tmp_path), batch_size=4, val_size=6, download=False)
    assert dm.image_shape == (1, 28, 28) and dm.num_classes == 10
    dm.prepare_data()
    dm.setup()

    images, labels = collect(dm.test_dataloader())
    assert images.dtype == torch.float32 and labels.dtype == torch.int64
    assert torch.equal(images, unit_range(mnist_arrays["test_images"]).unsqueeze(1))
    assert images[0, 0, 0, 0].item() == 1.0 and images[0, 0, 0, 1].item() == -1.0
    assert torch.equal(labels, torch.from_numpy(mnist_arrays["test_labels"]).long())

    train = dm.train_dataloader()
    assert len(train) == 24 // 4
    batches = list(train)
    assert all(x.shape == (4, 1, 28, 28) and x.min() >= -1 and x.max() <= 1 for x, _ in batches)
    val_images, val_labels = collect(dm.val_dataloader())
    train_images, train_labels = collect(batches)
    ids = lambda x: ((x[:, 0, 27, 27] + 1) * 127.5).round().long()  # noqa: E731
    train_ids, val_ids = ids(train_images), ids(val_images)
    assert len(val_ids) == 6 and set(train_ids.tolist()).isdisjoint(val_ids.tolist())
    assert sorted(train_ids.tolist() + val_ids.tolist()) == list(range(30))
    assert torch.equal(train_labels, train_ids % 10) and torch.equal(val_labels, val_ids % 10)


def test_resize_and_train_subset(tmp_path, mnist_arrays):
    write_idx_folder(tmp_path / "MNIST" / "raw", mnist_arrays)
    dm = MNISTDataModule(data_dir=str(tmp_path), batch_size=2, val_size=6, image_size=32, train_subset=5)
    assert dm.image_shape == (1, 32, 32)
    dm.setup("fit")
    assert len(dm.train_set.images) == 5 and dm.test_set is None
    images, _ = next(iter(dm.train_dataloader()))
    assert images.shape == (2, 1, 32, 32) and images.min() >= -1 and images.max() <= 1


def test_fashion_mnist_decompresses_system_files(tmp_path, mnist_arrays):
    write_idx_folder(tmp_path / "system", mnist_arrays, compress=True)
    dm = FashionMNISTDataModule(
        data_dir=str(tmp_path / "data"), system_dir=str(tmp_path / "system"), val_size=5, batch_size=5, download=False
    )
    dm.prepare_data()
    raw = tmp_path / "data" / "FashionMNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(IDX_NAMES.values())
    dm.setup()
    images, labels = collect(dm.test_dataloader())
    assert torch.equal(images, unit_range(mnist_arrays["test_images"]).unsqueeze(1))
    assert torch.equal(labels, torch.from_numpy(mnist_arrays["test_labels"]).long())
    assert len(dm.train_set.images) + len(dm.val_set.images) == 30


def test_fashion_mnist_missing(tmp_path):
    dm = FashionMNISTDataModule(data_dir=str(tmp_path), system_dir=str(tmp_path / "none"), download=False)
    with pytest.raises(DatasetNotFoundError) as info:
        dm.setup()
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert "Fashion-MNIST" in message and "dataset-fashion-mnist" in message
    assert str((tmp_path / "FashionMNIST" / "raw").resolve()) in message and str(tmp_path / "none") in message


def test_mnist_missing(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="download=True") as info:
        MNISTDataModule(data_dir=str(tmp_path), download=False).prepare_data()
    assert "MNIST" in str(info.value) and "train-images-idx3-ubyte" in str(info.value)


@pytest.mark.parametrize(
    "damage, problem",
    [
        (lambda data: struct.pack(">I", 0x801) + data[4:], "magic"),
        (lambda data: data[:-100], "bytes"),
    ],
    ids=["wrong-magic", "truncated"],
)
def test_corrupt_idx_file(tmp_path, mnist_arrays, damage, problem):
    raw = tmp_path / "MNIST" / "raw"
    write_idx_folder(raw, mnist_arrays)
    bad = raw / IDX_NAMES["train_images"]
    bad.write_bytes(damage(bad.read_bytes()))
    with pytest.raises(CorruptDatasetError, match=problem) as info:
        MNISTDataModule(data_dir=str(tmp_path), download=False).setup("fit")
    assert str(bad.resolve()) in str(info.value) and "download" in str(info.value)


def test_truncated_gzip(tmp_path, mnist_arrays):
    system = tmp_path / "system"
    write_idx_folder(system, mnist_arrays, compress=True)
    bad = system / f"{IDX_NAMES['train_images']}.gz"
    bad.write_bytes(bad.read_bytes()[:-50])
    dm = FashionMNISTDataModule(data_dir=str(tmp_path / "data"), system_dir=str(system), download=False)
    with pytest.raises(CorruptDatasetError, match="dataset-fashion-mnist") as info:
        dm.prepare_data()
    assert str(bad.resolve()) in str(info.value)
    assert not list((tmp_path / "data" / "FashionMNIST" / "raw").glob(f"*{IDX_NAMES['train_images']}*"))



@pytest.mark.parametrize("cls", [MNISTDataModule, FashionMNISTDataModule])
def test_gzipped_files_in_the_raw_folder_are_read(tmp_path, mnist_arrays, cls):
    raw = tmp_path / cls.dataset_cls.__name__ / "raw"
    write_idx_folder(raw, mnist_arrays, compress=True)  # e.g. the Debian package's files copied there
    elsewhere = {"system_dir": str(tmp_path / "none")} if cls is FashionMNISTDataModule else {}
    dm = cls(data_dir=str(tmp_path), val_size=5, batch_size=5, download=False, **elsewhere)
    dm.setup()
    images, labels = collect(dm.test_dataloader())
    assert torch.equal(images, unit_range(mnist_arrays["test_images"]).unsqueeze(1))
    assert torch.equal(labels, torch.from_numpy(mnist_arrays["test_labels"]).long())


@pytest.mark.parametrize("damage, problem", [
    (lambda data: data[:-50], "cannot be decompressed"),
    (lambda data: b"not gzip at all", "cannot be decompressed"),
    (lambda data: gzip.compress(b"\x00\x00\x08\x01" + bytes(40)), "bad IDX magic number"),
    (lambda data: gzip.compress(gzip.decompress(data)[:-100]), "header promises"),
], ids=["truncated", "not-gzip", "not-idx", "short-idx"])
def test_a_corrupt_gzip_in_the_raw_folder_is_named_not_skipped(tmp_path, mnist_arrays, damage, problem):
    raw = tmp_path / "data" / "FashionMNIST" / "raw"
    write_idx_folder(raw, mnist_arrays, compress=True)
    write_idx_folder(tmp_path / "system", mnist_arrays, compress=True)  # intact: no silent fallback to these
    bad = raw / f"{IDX_NAMES['train_images']}.gz"
    bad.write_bytes(damage(bad.read_bytes()))
    dm = FashionMNISTDataModule(data_dir=str(tmp_path / "data"), system_dir=str(tmp_path / "system"), download=False)
    with pytest.raises(CorruptDatasetError, match=problem) as info:
        dm.prepare_data()
    assert str(bad.resolve()) in str(info.value) and "copy an intact file there again" in str(info.value)
    assert not (raw / IDX_NAMES["train_images"]).exists()  # nothing corrupt was decompressed into place


def test_a_partial_copy_is_named_in_the_not_found_message(tmp_path, mnist_arrays):
    raw = tmp_path / "FashionMNIST" / "raw"
    write_idx_folder(raw, mnist_arrays, compress=True)
    (raw / f"{IDX_NAMES['test_labels']}.gz").unlink()
    dm = FashionMNISTDataModule(data_dir=str(tmp_path), system_dir=str(tmp_path / "none"), download=False)
    with pytest.raises(DatasetNotFoundError, match=f"holds 3 of the 4 files, not used \\(missing: "
                                                   f"{IDX_NAMES['test_labels']}\\)"):
        dm.prepare_data()


def test_a_data_dir_that_is_a_file_is_refused_at_construction(tmp_path):
    from zoo.arguments import InvalidArgument

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(InvalidArgument, match=f"data_dir '{blocker}' is a file, not a folder. Fix: "):
        FashionMNISTDataModule(data_dir=str(blocker))
    with pytest.raises(InvalidArgument, match=f"lies under {blocker}, which is a file"):
        MNISTDataModule(data_dir=str(blocker / "below"))
    assert MNISTDataModule(data_dir=str(tmp_path / "new" / "folder")).data_dir  # a folder yet to be made is fine

# ---------------------------------------------------------------- CIFAR-10


@pytest.fixture
def cifar_dir(tmp_path, monkeypatch) -> tuple[Path, dict[str, np.ndarray]]:
    """The tiny CIFAR-10 of :func:`tests.tiny_datasets.write_cifar`, with torchvision's MD5 list patched to match."""
    arrays = tiny_datasets.write_cifar(tmp_path)
    patch_cifar_md5s(monkeypatch, tmp_path / "cifar-10-batches-py")
    return tmp_path, arrays


def test_cifar10_reads_pickled_batches(cifar_dir):
    root, arrays = cifar_dir
    dm = CIFAR10DataModule(data_dir=str(root), batch_size=3, val_size=4, download=False)
    assert dm.image_shape == (3, 32, 32)
    dm.setup()
    images, labels = collect(dm.test_dataloader())
    # Rows hold the red plane, then green, then blue, each 32x32 row-major.
    assert torch.equal(images, unit_range(arrays["test_batch"]).view(5, 3, 32, 32))
    assert torch.equal(labels, torch.from_numpy(arrays["test_batch_labels"]))
    assert len(dm.train_set.images) == 16 and len(dm.val_set.images) == 4
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (3, 3, 32, 32) and x.dtype == torch.float32 and y.dtype == torch.int64


def test_cifar10_unpicklable_batch(cifar_dir, monkeypatch):
    root, _ = cifar_dir
    folder = root / "cifar-10-batches-py"
    bad = folder / "data_batch_2"
    bad.write_bytes(b"this is not a pickle")
    patch_cifar_md5s(monkeypatch, folder)
    with pytest.raises(CorruptDatasetError, match="unpickled") as info:
        CIFAR10DataModule(data_dir=str(root), download=False).setup("fit")
    assert str(bad.resolve()) in str(info.value)


def test_cifar10_missing(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="cifar-10-batches-py"):
        CIFAR10DataModule(data_dir=str(tmp_path), download=False).setup("test")


# ---------------------------------------------------------------- CelebA

@pytest.fixture
def celeba_dir(tmp_path, monkeypatch) -> tuple[Path, np.ndarray, np.ndarray]:
    """The tiny CelebA of :func:`tests.tiny_datasets.write_celeba`, with torchvision's MD5 list patched to match."""
    brightness, attrs = tiny_datasets.write_celeba(tmp_path)
    tiny_datasets.patch_celeba_md5s(monkeypatch, tmp_path / "celeba")
    return tmp_path, brightness, attrs


@pytest.mark.parametrize("cache", [False, True], ids=["per-sample", "cached"])
def test_celeba(celeba_dir, cache):
    root, brightness, attrs = celeba_dir
    dm = CelebADataModule(data_dir=str(root), batch_size=2, cache=cache, download=False)
    assert dm.image_shape == (3, 64, 64) and dm.num_classes == 40
    dm.prepare_data()
    dm.setup()
    assert len(dm.train_set) == 4 and len(dm.val_set) == 2 and len(dm.test_set) == 2
    if cache:
        assert sorted(p.name for p in (root / "celeba").glob("cache_*.pt")) == [
            "cache_test_64.pt", "cache_train_64.pt", "cache_valid_64.pt"
        ]
        assert isinstance(dm.test_dataloader(), InMemoryLoader)

    images, labels = collect(dm.test_dataloader())
    assert images.shape == (2, 3, 64, 64) and images.dtype == torch.float32
    assert torch.equal(labels, torch.from_numpy(attrs[6:]).long())
    # The 140-pixel centre crop keeps only the uniform grey square.
    expected = torch.from_numpy(brightness[6:]).float() / 127.5 - 1
    assert torch.allclose(images.mean(dim=(1, 2, 3)), expected, atol=0.03)

    rng_state = torch.get_rng_state()
    train_images, train_labels = collect(dm.train_dataloader())
    assert torch.equal(torch.get_rng_state(), rng_state)
    assert train_images.shape == (4, 3, 64, 64) and train_labels.shape == (4, 40)
    assert train_labels.dtype == torch.int64 and set(train_labels.unique().tolist()) <= {0, 1}
    assert train_images.min() >= -1 and train_images.max() <= 1


def test_celeba_missing(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="img_align_celeba"):
        CelebADataModule(data_dir=str(tmp_path), download=False).setup("fit")


# ---------------------------------------------------------------- class names

FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
CIFAR = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


@pytest.mark.parametrize("cls, names", [
    (MNISTDataModule, tuple("0123456789")),
    (FashionMNISTDataModule, FASHION),
    (CIFAR10DataModule, CIFAR),
    (CelebADataModule, tuple(tiny_datasets.ATTRIBUTES)),
    (SyntheticDataModule, tuple(f"{d}_{i}" for d in ("horizontal", "vertical") for i in range(1, 6))),
], ids=lambda value: value.__name__ if isinstance(value, type) else "")
def test_class_names_are_known_before_any_data_is_read(tmp_path, cls, names):
    dm = cls(data_dir=str(tmp_path / "nothing here"), download=False)  # no dataset on disk: nothing is read
    assert dm.class_names == names and dm.num_classes == len(names)
    assert all(isinstance(name, str) for name in dm.class_names)
    assert not (tmp_path / "nothing here").exists()


def test_fashion_mnist_class_names_are_torchvisions():
    import torchvision

    assert FashionMNISTDataModule.class_names == tuple(torchvision.datasets.FashionMNIST.classes) == FASHION


def test_celeba_class_names_follow_torchvisions_attribute_order(celeba_dir):
    import torchvision

    root, _, attrs = celeba_dir
    dataset = torchvision.datasets.CelebA(str(root), split="test", target_type="attr")
    assert CelebADataModule.class_names == tuple(dataset.attr_names[:40])
    dm = CelebADataModule(data_dir=str(root), batch_size=2, download=False)
    _, labels = collect(dm.test_dataloader())  # the multi-hot vector is indexed by class_names
    smiling = dm.class_names.index("Smiling")
    assert torch.equal(labels[:, smiling], torch.from_numpy(attrs[6:, smiling]).long())


# ---------------------------------------------------------------- InMemoryLoader


def make_loader(n: int = 50, batch_size: int = 8, **kwargs) -> InMemoryLoader:
    """A loader whose labels are the sample indices, so batches reveal the order."""
    images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 2, 2).contiguous()
    options = {"shuffle": True, "drop_last": True, "seed": 3} | kwargs
    return InMemoryLoader(images, torch.arange(n), batch_size, **options)


def order(batches) -> list[int]:
    return [i for _, labels in batches for i in labels.tolist()]


def test_loader_batches_and_lengths():
    train, evaluation = make_loader(), make_loader(shuffle=False, drop_last=False)
    assert len(train) == 6 and len(evaluation) == 7
    batches = list(evaluation)
    assert [len(labels) for _, labels in batches] == [8] * 6 + [2]
    assert order(batches) == list(range(50))
    images, labels = batches[1]
    assert images.dtype == torch.float32 and torch.equal(images[:, 0, 0, 0], labels.float() / 127.5 - 1)


def test_loader_shuffling_is_seeded_per_epoch():
    first, second = order(make_loader()), order(make_loader())
    assert first == second and first != list(range(48))
    loader = make_loader()
    list(loader)
    assert loader.state_dict() == {"epoch": 1, "position": 0}
    assert order(loader) == order(make_loader(epoch=1)) != first
    assert order(make_loader(seed=4)) != first


def test_loader_leaves_global_rng_alone():
    torch.manual_seed(123)
    state = torch.get_rng_state()
    list(make_loader())
    assert torch.equal(torch.get_rng_state(), state)


def take(loader: InMemoryLoader, count: int) -> list[int]:
    """The labels of the first ``count`` batches of a new iteration, which is then abandoned."""
    iterator = iter(loader)
    return order(next(iterator) for _ in range(count))


@pytest.mark.parametrize("stop_after", [0, 2, 5])
def test_loader_resumes_mid_epoch(stop_after):
    uninterrupted = make_loader()
    expected = order(uninterrupted) + order(uninterrupted)
    interrupted = make_loader()
    seen = take(interrupted, stop_after)
    state = interrupted.state_dict()
    assert state == {"epoch": 0, "position": stop_after}
    resumed = make_loader()
    resumed.load_state_dict(state)
    assert seen + order(resumed) + order(resumed) == expected


def test_loader_resumes_after_unexhausted_epoch():
    # Lightning stops pulling after len(loader) batches, so the last epoch's iterator is never exhausted.
    expected = take(make_loader(), 6) + order(make_loader(epoch=1))
    interrupted = make_loader()
    seen = take(interrupted, 6)
    assert interrupted.state_dict() == {"epoch": 0, "position": 6}
    resumed = make_loader()
    resumed.load_state_dict(interrupted.state_dict())
    assert seen + order(resumed) == expected


@pytest.mark.parametrize("n, drop_last", [(48, False), (49, False), (49, True)])
def test_loader_shards_across_ranks(n, drop_last):
    shards = [order(make_loader(n, 5, drop_last=drop_last, rank=r, world_size=2)) for r in range(2)]
    lengths = [len(make_loader(n, 5, drop_last=drop_last, rank=r, world_size=2)) for r in range(2)]
    assert lengths[0] == lengths[1] and len(shards[0]) == len(shards[1])
    if drop_last:
        assert set(shards[0]).isdisjoint(shards[1]) and len(shards[0]) == 20
    else:
        assert set(shards[0]) | set(shards[1]) == set(range(n))
        assert len(shards[0]) + len(shards[1]) - len(set(shards[0]) | set(shards[1])) == n % 2


class RecordingModule(L.LightningModule):
    """Records the labels of every training batch; its loss does not depend on the data order."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.seen: list[torch.Tensor] = []

    def training_step(self, batch, batch_idx):
        self.seen.append(batch[1])
        return (self.weight * batch[0].mean()).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.0)


def fit(max_steps: int, tmp_path: Path, resume: Path | None = None, save: Path | None = None) -> list[int]:
    module = RecordingModule()
    trainer = L.Trainer(
        max_steps=max_steps,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        default_root_dir=tmp_path,
    )
    dm = SyntheticDataModule(num_images=104, num_test_images=0, val_size=8, batch_size=16, seed=5)
    trainer.fit(module, dm, ckpt_path=resume)
    if save is not None:
        trainer.save_checkpoint(save)
    return torch.cat(module.seen).tolist()


@pytest.mark.parametrize("stop_at", [4, 6], ids=["mid-epoch", "epoch-end"])
def test_lightning_resume_replays_exact_order(tmp_path, stop_at):
    # 96 training images in batches of 16: 6 steps per epoch, so 14 steps cross two epoch boundaries.
    expected = fit(14, tmp_path)
    checkpoint = tmp_path / "stop.ckpt"
    before = fit(stop_at, tmp_path, save=checkpoint)
    after = fit(14, tmp_path, resume=checkpoint)
    assert before + after == expected


# ---------------------------------------------------------------- synthetic data


def test_synthetic_is_deterministic_and_learnable():
    dm = SyntheticDataModule(num_images=300, num_test_images=100, val_size=50, batch_size=25)
    assert dm.image_shape == (1, 28, 28)
    dm.setup()
    again = SyntheticDataModule(num_images=300, num_test_images=100, val_size=50)
    again.setup()
    assert torch.equal(dm.train_set.images, again.train_set.images) and dm.train_set.images.dtype == torch.uint8
    other = SyntheticDataModule(num_images=300, val_size=50, seed=1)
    other.setup("fit")
    assert not torch.equal(dm.train_set.images, other.train_set.images)
    train_images, train_labels = collect(dm.train_dataloader())
    test_images, test_labels = collect(dm.test_dataloader())
    assert set(train_labels.tolist()) == set(range(10)) and test_images.shape == (100, 1, 28, 28)
    means = torch.stack([train_images[train_labels == c].mean(0) for c in range(10)]).flatten(1)
    predicted = torch.cdist(test_images.flatten(1), means).argmin(1)
    assert (predicted == test_labels).float().mean() > 0.95


def test_synthetic_colour_and_resize():
    dm = SyntheticDataModule(shape=(3, 16, 20), image_size=32, num_images=40, val_size=8, batch_size=8)
    assert dm.image_shape == (3, 32, 32)
    images, _ = next(iter(dm.train_dataloader()))
    assert images.shape == (8, 3, 32, 32) and images.min() >= -1 and images.max() <= 1


# ---------------------------------------------------------------- real data


@pytest.mark.skipif(not Path(SYSTEM_DIR).is_dir(), reason="dataset-fashion-mnist is not installed")
def test_real_fashion_mnist(tmp_path, capfd):
    dm = FashionMNISTDataModule(data_dir=str(tmp_path), download=False)
    dm.prepare_data()
    dm.setup()
    assert len(dm.train_set.images) + len(dm.val_set.images) == 60000 and len(dm.val_set.images) == 5000
    assert len(dm.test_set.images) == 10000
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (64, 1, 28, 28) and dm.image_shape == (1, 28, 28)
    assert images.min() >= -1 and images.max() <= 1 and set(dm.test_set.labels.tolist()) == set(range(10))
    assert capfd.readouterr() == ("", "")
