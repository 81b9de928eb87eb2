"""Tiny datasets written in each dataset's real on-disk format (MNIST IDX, CIFAR-10 pickles, the CelebA folder),
so the real data modules load them; shared by the data-format tests and the config tests.

torchvision checks CIFAR-10's and CelebA's files against MD5 lists; ``patch_*_md5s`` point those lists at the tiny
files (pass a ``pytest.MonkeyPatch``)."""

import gzip
import hashlib
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torchvision
from PIL import Image

IDX_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

ATTRIBUTES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair Blond_Hair "
    "Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup High_Cheekbones "
    "Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose Receding_Hairline "
    "Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick "
    "Wearing_Necklace Wearing_Necktie Young"
).split()


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in the IDX format: big-endian magic 0x0000 08 <ndim>, the dimensions, the data."""
    return struct.pack(f">I{array.ndim}I", 0x800 | array.ndim, *array.shape) + array.astype(np.uint8).tobytes()


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def mnist_arrays() -> dict[str, np.ndarray]:
    """30 training and 10 test 28x28 images; pixel (27, 27) of training image i is i, labels are i % 10."""
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (30, 28, 28), dtype=np.uint8)
    train[:, 27, 27] = np.arange(30)
    test = rng.integers(0, 256, (10, 28, 28), dtype=np.uint8)
    test[0, 0, 0], test[0, 0, 1] = 255, 0
    return {
        "train_images": train,
        "train_labels": np.arange(30, dtype=np.uint8) % 10,
        "test_images": test,
        "test_labels": np.arange(10, dtype=np.uint8)[::-1].copy(),
    }


def write_idx_folder(folder: Path, arrays: dict[str, np.ndarray], compress: bool = False) -> None:
    """The four IDX files of ``arrays`` in ``folder`` (gzipped, as the Debian package ships them, if ``compress``)."""
    folder.mkdir(parents=True, exist_ok=True)
    for key, name in IDX_NAMES.items():
        data = idx_bytes(arrays[key])
        if compress:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)


def write_cifar(root: Path) -> dict[str, np.ndarray]:
    """Five training batches of 4 images and a test batch of 5 in ``root/cifar-10-batches-py``, pickled like the real
    files (written by Python 2: their keys unpickle as str with encoding="latin1"); returns the arrays by file."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    arrays = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        count = 5 if name == "test_batch" else 4
        arrays[name] = rng.integers(0, 256, (count, 3072), dtype=np.uint8)
        entry = {"batch_label": name, "data": arrays[name], "labels": rng.integers(0, 10, count).tolist()}
        (folder / name).write_bytes(pickle.dumps(entry, protocol=2))
        arrays[f"{name}_labels"] = np.array(entry["labels"])
    meta = {"label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return arrays


def patch_cifar_md5s(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make torchvision's CIFAR-10 integrity check accept the files in ``folder`` (cifar-10-batches-py)."""
    cifar = torchvision.datasets.CIFAR10
    train_list = [[f"data_batch_{i}", md5(folder / f"data_batch_{i}")] for i in range(1, 6)]
    monkeypatch.setattr(cifar, "train_list", train_list)
    monkeypatch.setattr(cifar, "test_list", [["test_batch", md5(folder / "test_batch")]])
    monkeypatch.setattr(cifar, "meta", {**cifar.meta, "md5": md5(folder / "batches.meta")})


def write_celeba(root: Path) -> tuple[np.ndarray, np.ndarray]:
    """Eight 178x218 aligned-face JPEGs in ``root/celeba`` (black, with a uniform grey 140x140 centre of brightness
    30 * i; partitions 4 train, 2 valid, 2 test) and the five annotation files in their real formats.

    Returns:
        the brightness of each image and its 40 attributes as 0/1.
    """
    folder = root / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True)
    names = [f"{i:06d}.jpg" for i in range(1, 9)]
    brightness = np.array([30 * i for i in range(8)])
    for name, level in zip(names, brightness):
        pixels = np.zeros((218, 178, 3), dtype=np.uint8)
        pixels[39:179, 19:159] = level
        Image.fromarray(pixels).save(folder / "img_align_celeba" / name, quality=95)
    partition = [0, 0, 0, 0, 1, 1, 2, 2]
    attrs = np.random.default_rng(2).choice([-1, 1], size=(8, 40))
    row = lambda name, values: name + "".join(f" {v:>2}" for v in values)  # noqa: E731
    files = {
        "list_eval_partition.txt": [f"{n} {p}" for n, p in zip(names, partition)],
        "list_attr_celeba.txt": ["8", " ".join(ATTRIBUTES)] + [row(n, a) for n, a in zip(names, attrs)],
        "identity_CelebA.txt": [f"{n} {100 + i}" for i, n in enumerate(names)],
        "list_bbox_celeba.txt": ["8", "image_id x_1 y_1 width height"] + [f"{n}    95  71 226 313" for n in names],
        "list_landmarks_align_celeba.txt": [
            "8",
            "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x rightmouth_y",
        ]
        + [f"{n}  69  109  106  113   77  142   73  152  108  154" for n in names],
    }
    for name, lines in files.items():
        (folder / name).write_text("\n".join(lines) + "\n")
    return brightness, (attrs + 1) // 2


def patch_celeba_md5s(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make torchvision's CelebA integrity check accept the annotation files in ``folder`` (celeba)."""
    file_list = [
        (file_id, md5(folder / name) if (folder / name).is_file() else checksum, name)
        for file_id, checksum, name in torchvision.datasets.CelebA.file_list
    ]
    monkeypatch.setattr(torchvision.datasets.CelebA, "file_list", file_list)
