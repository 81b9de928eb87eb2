"""Helpers of the fault tests and of ``benchmarks/faults.py``: a tiny ``zoo fit`` run in a real process, stopped by
signals, kills or a full disk, and the comparison of the checkpoints it leaves."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import lightning as L
import torch

TINY_CONFIG = """\
# A DCGAN small enough that a real process trains it in seconds (9 batches of 16 synthetic images per epoch).
seed_everything: 0
trainer:
  max_epochs: {epochs}
  enable_progress_bar: false
  enable_model_summary: false
  logger:
    class_path: zoo.loggers.CSVRunLogger
    init_args: {{name: tiny}}
model:
  class_path: zoo.models.gan.DCGAN
  init_args:
    generator: {{class_path: zoo.nets.DCGANGenerator, init_args: {{base_channels: 8}}}}
    discriminator: {{class_path: zoo.nets.DCGANDiscriminator, init_args: {{base_channels: 8}}}}
data:
  class_path: datamodules.SyntheticDataModule
  init_args: {{num_images: 160, val_size: 16, batch_size: 16}}
images: {{every_n_batches: 0}}
"""
BATCHES_PER_EPOCH = 9


def write_config(folder: Path, epochs: int) -> Path:
    path = Path(folder) / "tiny.yaml"
    path.write_text(TINY_CONFIG.format(epochs=epochs))
    return path


def zoo_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "zoo.cli", *args]


def start(args: list[str], cwd: Path, env: dict | None = None) -> subprocess.Popen:
    """Start ``zoo <args>`` in its own process group (so a test can always kill everything it started)."""
    environment = {**os.environ, "WANDB_MODE": "offline", "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.Popen(zoo_command(*args), cwd=cwd, env=environment, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def finish(process: subprocess.Popen, timeout: float = 120) -> tuple[int, str]:
    """Wait for a started run (killing its group if it overruns); its exit status and output."""
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(process)
        output, _ = process.communicate()
        raise AssertionError(f"zoo did not finish within {timeout} s:\n{output[-3000:]}") from None
    return process.returncode, output


def kill_group(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def run(args: list[str], cwd: Path, timeout: float = 120, env: dict | None = None) -> tuple[int, str]:
    return finish(start(args, cwd, env), timeout)


def wait_for(predicate, process: subprocess.Popen, timeout: float = 60, poll: float = 0.05):
    """Poll ``predicate()`` until it returns something true; fail if the process ends or time runs out first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if process.poll() is not None:
            raise AssertionError(f"the run ended (status {process.returncode}) before the awaited moment:\n"
                                 f"{process.stdout.read()[-3000:]}")
        time.sleep(poll)
    kill_group(process)
    raise AssertionError("timed out waiting for the run")


def last_checkpoints(root: Path) -> list[Path]:
    return sorted(Path(root).rglob("last*.ckpt"), key=lambda p: p.stat().st_mtime)


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def same_weights(a: Path, b: Path) -> bool:
    first, second = weights(a), weights(b)
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)


class SlowBatches(L.Callback):
    """Makes every training batch from the ``after``-th on last ``seconds`` (a sleep, which signals interrupt): a run
    then sits inside one batch, so a test can signal it twice before the next batch boundary."""

    def __init__(self, after: int = BATCHES_PER_EPOCH, seconds: float = 60.0) -> None:
        self.after, self.seconds = after, seconds

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if pl_module.iteration >= self.after:
            time.sleep(self.seconds)
