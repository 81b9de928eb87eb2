"""Shared test helpers: tiny trainers and data, and the real Fashion-MNIST when the Debian package is installed."""

import os
from pathlib import Path

import lightning as L
import pytest
import torch

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("WANDB_SILENT", "true")

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
REPO = Path(__file__).resolve().parent.parent


def run_in_process(argv: list[str], with_stdout: bool = False) -> tuple[int, str]:
    """``zoo ARGV`` in this process: its exit status and what it printed to stderr (and stdout, ``with_stdout``)."""
    import contextlib
    import io

    from zoo.cli import main

    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stderr if with_stdout else io.StringIO()):
        try:
            main(argv)
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
    return code, stderr.getvalue()


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


DDP_SCRIPT = Path(__file__).with_name("ddp_run.py")


def _rank_results(out_dir: Path) -> list[dict]:
    ranks = [torch.load(out_dir / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    for rank in ranks:
        assert (rank["strategy"], rank["world_size"], rank["find_unused_parameters"]) == ("DDPStrategy", 2, True)
    assert ranks[0]["iteration"] == ranks[1]["iteration"] > 0
    return ranks


def run_ddp(config: str, out_dir: Path, *extra: str) -> list[dict]:
    """Fit a shipped config on 2 CPU processes of one machine (``--trainer.devices=2``, the default strategy) with
    tests/ddp_run.py, in ``out_dir``; each rank's final state."""
    import subprocess
    import sys

    command = [sys.executable, str(DDP_SCRIPT), str(out_dir), config, "--trainer.devices=2", *extra]
    result = subprocess.run(command, cwd=out_dir, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return _rank_results(out_dir)


def run_two_nodes(config: str, out_dir: Path, node_dirs: tuple[Path, Path], *extra: str) -> list[dict]:
    """Fit a shipped config as 2 nodes x 1 process on localhost (gloo), one command per node as on a cluster
    (``NODE_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``, ``--trainer.num_nodes=2``), node r working in ``node_dirs[r]``."""
    import os
    import signal
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out_dir.mkdir(parents=True, exist_ok=True)
    processes = []
    for node, folder in enumerate(node_dirs):
        folder.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "NODE_RANK": str(node), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
        command = [sys.executable, str(DDP_SCRIPT), str(out_dir), config, "--trainer.num_nodes=2",
                   "--trainer.devices=1", *extra]
        processes.append(subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, text=True, start_new_session=True))
    try:
        outputs = [process.communicate(timeout=300)[0] for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.communicate()
    for process, output in zip(processes, outputs):
        assert process.returncode == 0, output[-4000:]
    return _rank_results(out_dir)


def assert_ranks_identical(ranks: list[dict]) -> None:
    """Both ranks hold the same parameters and the same buffers, except batch-norm running statistics (per-rank
    buffers in any DDP run without SyncBatchNorm; they do not enter training)."""
    for key, value in ranks[0]["state"].items():
        if "running_" not in key and "num_batches_tracked" not in key:
            assert torch.equal(value, ranks[1]["state"][key]), f"{key} differs between ranks"


def ks_distance_to_normal(samples: torch.Tensor) -> float:
    """Kolmogorov-Smirnov distance between the samples and N(0, 1)."""
    x, _ = samples.double().sort()
    cdf = torch.special.ndtr(x)
    n = len(x)
    upper = torch.arange(1, n + 1, dtype=torch.double) / n - cdf
    lower = cdf - torch.arange(0, n, dtype=torch.double) / n
    return max(upper.max().item(), lower.max().item())
