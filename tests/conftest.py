"""Shared test helpers: tiny trainers and data, and the real Fashion-MNIST when the Debian package is installed."""

import os
from pathlib import Path

import lightning as L
import pytest

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
REPO = Path(__file__).resolve().parent.parent


def tiny_trainer(tmp_path: Path, **overrides) -> L.Trainer:
    """A quiet CPU trainer writing into ``tmp_path``; keyword arguments override the defaults."""
    settings = dict(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=0,
        default_root_dir=str(tmp_path),
    )
    settings.update(overrides)
    return L.Trainer(**settings)


def synthetic_data(image_shape=(1, 28, 28), num_images: int = 80, batch_size: int = 16, **kwargs):
    from datamodules import SyntheticDataModule

    return SyntheticDataModule(
        shape=image_shape, num_images=num_images, batch_size=batch_size, val_size=16, **kwargs
    )


@pytest.fixture(scope="module")
def one_thread():
    """Run a module's torch ops on one thread: tiny batches gain nothing from threads, and on a busy machine OpenMP's
    waiting threads made tiny-net tests several times slower. Use with ``pytest.mark.usefixtures("one_thread")``."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


needs_fashion_mnist = pytest.mark.skipif(
    not (FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz").exists(),
    reason="the Debian package dataset-fashion-mnist is not installed (make data)",
)


def fashion_mnist(batch_size: int = 64, train_subset: int | None = None, **kwargs):
    """The real Fashion-MNIST (from the Debian package), decompressed once into the repo's ignored data/ folder."""
    from datamodules import FashionMNISTDataModule

    return FashionMNISTDataModule(
        data_dir=str(REPO / "data"), batch_size=batch_size, train_subset=train_subset, **kwargs
    )


def run_ddp(name: str, out_dir: Path) -> list[dict]:
    """Fit ``name`` (dcgan, wgangp or began) on 2 CPU processes with tests/ddp_run.py; each rank's final state."""
    import subprocess
    import sys

    import torch

    script = Path(__file__).with_name("ddp_run.py")
    result = subprocess.run([sys.executable, str(script), str(out_dir), name], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [torch.load(out_dir / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert [r["strategy"] for r in ranks] == ["DDPStrategy"] * 2
    assert ranks[0]["iteration"] == ranks[1]["iteration"] == 4
    return ranks
