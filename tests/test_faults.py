"""Runs that survive: real ``zoo fit`` processes killed, signalled, given a full or read-only disk, started together,
or pointed at the wrong checkpoint. Each keeps its last good checkpoint loadable and says what to do next."""

import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import torch

import zoo
from tests.faults import (BATCHES_PER_EPOCH, finish, kill_group, last_checkpoints, run, same_weights, start, wait_for,
                          write_config)

EPOCHS = 4
INTERVAL_MINUTES = 0.01  # a periodic last.ckpt every 0.6 s
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    return write_config(tmp_path_factory.mktemp("config"), EPOCHS)


@pytest.fixture(scope="module")
def reference(config, tmp_path_factory):
    """The uninterrupted run's final checkpoint."""
    folder = tmp_path_factory.mktemp("reference")
    status, output = run(["fit", "--config", str(config)], folder)
    assert status == 0, output[-3000:]
    [checkpoint] = last_checkpoints(folder)
    assert zoo.load(checkpoint).iteration == EPOCHS * BATCHES_PER_EPOCH
    return checkpoint


def _resume(config, folder: Path) -> Path:
    status, output = run(["fit", "--config", str(config), "--ckpt_path", "last"], folder)
    assert status == 0, output[-3000:]
    assert "resuming from: " in output
    return last_checkpoints(folder)[-1]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_saves_says_how_to_resume_and_exits_nonzero(sig, config, reference, tmp_path):
    process = start(["fit", "--config", str(config), f"--checkpoint.every_minutes={INTERVAL_MINUTES}"], tmp_path)
    wait_for(lambda: last_checkpoints(tmp_path), process)  # training is under way
    os.kill(process.pid, sig)
    status, output = finish(process)
    assert status == 128 + sig, output[-3000:]
    [checkpoint] = last_checkpoints(tmp_path)
    stopped_at = zoo.load(checkpoint).iteration
    assert 0 < stopped_at < EPOCHS * BATCHES_PER_EPOCH
    assert f"stopped by {signal.Signals(sig).name} after iteration {stopped_at}" in output
    assert f"resume: zoo fit --config {config} --checkpoint.every_minutes={INTERVAL_MINUTES} --ckpt_path " \
           f"{checkpoint.relative_to(tmp_path)}" in output

    resumed = _resume(config, tmp_path)
    assert same_weights(resumed, reference), "the resumed run does not continue the interrupted one bit-for-bit"


def test_a_second_ctrl_c_exits_130_at_once_and_keeps_the_last_checkpoint(config, tmp_path):
    """Ctrl-C twice inside one batch (batches from the second epoch on sleep, see SlowBatches): no save, status 130
    (128 + SIGINT) and one line naming the checkpoint written before, which stays intact."""
    process = start(["fit", "--config", str(config), "--checkpoint.every_minutes=null",
                     "--trainer.callbacks+=tests.faults.SlowBatches"], tmp_path, {"PYTHONPATH": str(REPO)})
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        [checkpoint] = wait_for(lambda: last_checkpoints(tmp_path), process)  # the first epoch's, then a slow batch
        before = checkpoint.read_bytes()
        os.kill(process.pid, signal.SIGINT)
        wait_for(lambda: any("SIGINT received" in line for line in lines), process)
        os.kill(process.pid, signal.SIGINT)
        status = process.wait(timeout=60)
    finally:
        kill_group(process)
        reader.join(timeout=30)
    output = "".join(lines)
    assert status == 128 + signal.SIGINT, output[-3000:]
    stops = [line for line in output.splitlines() if "without saving" in line and "Ctrl-C again" not in line]
    assert stops == [f"zoo: stopped by a second Ctrl-C without saving; the last checkpoint, written before, is intact: "
                     f"{checkpoint.relative_to(tmp_path)}"], output[-3000:]
    assert "Traceback" not in output and "resume:" not in output and "KeyboardInterrupt" not in output
    assert last_checkpoints(tmp_path) == [checkpoint] and checkpoint.read_bytes() == before
    assert zoo.load(checkpoint).iteration == BATCHES_PER_EPOCH


def test_kill_9_at_random_moments_loses_at_most_the_interval(config, tmp_path):
    """Two kills at random moments of a long run (each resumed with --ckpt_path last): every time the newest
    checkpoint loads and is at most one interval old. (Bit-for-bit continuation: the signal tests and
    benchmarks/faults.py, which compare with the uninterrupted run.)"""
    long_run = ["fit", "--config", str(config), "--trainer.max_epochs=200",
                f"--checkpoint.every_minutes={INTERVAL_MINUTES}"]
    for kill in range(2):
        before = set(last_checkpoints(tmp_path))
        process = start(long_run + (["--ckpt_path", "last"] if kill else []), tmp_path)
        wait_for(lambda: set(last_checkpoints(tmp_path)) - before, process)  # this run has saved once
        time.sleep(random.uniform(0, 2))
        killed_at = time.time()
        kill_group(process)
        process.communicate(timeout=30)
        assert process.returncode == -signal.SIGKILL, "the run ended before the kill"
        checkpoint = last_checkpoints(tmp_path)[-1]
        assert zoo.load(checkpoint).iteration > 0  # loadable, whenever the kill came (even mid-write)
        assert killed_at - checkpoint.stat().st_mtime <= 60 * INTERVAL_MINUTES + 2.0  # one interval plus a batch

    epoch = torch.load(checkpoint, weights_only=True)["epoch"]
    status, output = run(["fit", "--config", str(config), "--ckpt_path", "last", f"--trainer.max_epochs={epoch + 1}"],
                         tmp_path)
    assert status == 0 and "resuming from: " in output, output[-3000:]
    assert not list(tmp_path.rglob("*.tmp")), "a temporary checkpoint file was left behind"


def _mount_tmpfs(folder: Path, options: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True,
                            text=True, timeout=30)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip() or 'mount failed'}); needs root")


def _unmount(folder: Path) -> None:
    subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30)


def test_a_full_disk_keeps_the_previous_checkpoint_and_leaves_no_partial_file(config, tmp_path):
    disk = tmp_path / "small_disk"
    _mount_tmpfs(disk, "size=1500k")  # room for one checkpoint (~1 MB), not for a second beside it
    try:
        status, output = run(["fit", "--config", str(config), f"--checkpoint.dirpath={disk}",
                              "--checkpoint.every_minutes=null"], tmp_path)
        assert status == 1, output[-3000:]
        assert f"could not write checkpoint {disk / 'last.ckpt'} (No space left on device)" in output
        assert "Traceback" not in output
        assert [p.name for p in disk.iterdir()] == ["last.ckpt"]  # no temporary, empty or partial file
        assert zoo.load(disk / "last.ckpt").iteration == BATCHES_PER_EPOCH  # the first epoch's checkpoint
    finally:
        _unmount(disk)


def test_an_unwritable_output_folder_is_refused_before_training(config, tmp_path):
    folder = tmp_path / "read_only"
    if os.geteuid() == 0:  # root writes through permission bits: use a read-only file system instead
        _mount_tmpfs(folder, "ro,size=1m")
    else:
        folder.mkdir()
        folder.chmod(0o500)
    try:
        started = time.monotonic()
        status, output = run(["fit", "--config", str(config), f"--trainer.default_root_dir={folder}"], tmp_path)
        assert status == 1, output[-3000:]
        assert f"cannot write to the output folder {folder}" in output and "Nothing was trained" in output
        assert "Traceback" not in output and "Restoring" not in output
        assert time.monotonic() - started < 60
    finally:
        if os.geteuid() == 0:
            _unmount(folder)


def test_runs_started_together_get_their_own_version_folders(config, tmp_path):
    processes = [start(["fit", "--config", str(config), "--trainer.max_epochs=1", "--trainer.default_root_dir=out"],
                       tmp_path) for _ in range(2)]
    for process in processes:
        status, output = finish(process)
        assert status == 0, output[-3000:]
    versions = sorted(p.name for p in (tmp_path / "out" / "tiny").iterdir())
    assert versions == ["version_0", "version_1"]
    for version in versions:
        rows = (tmp_path / "out" / "tiny" / version / "metrics.csv").read_text().splitlines()
        assert len(rows) > 1 and len({len(row.split(",")) for row in rows}) == 1  # one run's columns, not two
        assert zoo.load(tmp_path / "out" / "tiny" / version / "checkpoints" / "last.ckpt").iteration == 9
    assert not (tmp_path / "runs").exists(), "--trainer.default_root_dir was not followed"


def test_slurm_requeue_signal_saves_requeues_and_the_requeued_job_resumes(config, reference, tmp_path):
    """Lightning's own SLURM auto-requeue (SLURMEnvironment, ``#SBATCH --signal=SIGUSR1@90``) with zoo's
    checkpoints: the signal is handled on a batch boundary, Lightning writes its HPC checkpoint and calls
    ``scontrol requeue`` (stubbed here), and the requeued job, started with the same command, resumes by itself."""
    stub = tmp_path / "bin" / "scontrol"
    stub.parent.mkdir()
    stub.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "scontrol.log"}\n')
    stub.chmod(0o755)
    slurm = {"SLURM_JOB_ID": "4242", "SLURM_JOB_NAME": "zoo", "SLURM_NTASKS": "1", "SLURM_NTASKS_PER_NODE": "1",
             "SLURM_NNODES": "1", "SLURM_NODEID": "0", "SLURM_PROCID": "0", "SLURM_LOCALID": "0",
             "SLURM_NODELIST": "localhost", "PATH": f"{stub.parent}:{os.environ['PATH']}"}
    process = start(["fit", "--config", str(config), f"--checkpoint.every_minutes={INTERVAL_MINUTES}"], tmp_path,
                    env=slurm)
    wait_for(lambda: last_checkpoints(tmp_path), process)
    os.kill(process.pid, signal.SIGUSR1)
    status, output = finish(process)
    assert status == 128 + signal.SIGUSR1, output[-3000:]
    assert (tmp_path / "scontrol.log").read_text().split() == ["requeue", "4242"]
    hpc = tmp_path / "runs" / "hpc_ckpt_1.ckpt"
    assert 0 < zoo.load(hpc).iteration < EPOCHS * BATCHES_PER_EPOCH

    status, output = run(["fit", "--config", str(config)], tmp_path, env=slurm)  # the requeued job
    assert status == 0, output[-3000:]
    assert f"Restoring states from the checkpoint path at {hpc.relative_to(tmp_path)}" in output
    assert same_weights(last_checkpoints(tmp_path)[-1], reference)


@pytest.mark.ddp
def test_sigterm_to_rank_zero_of_a_ddp_run_stops_both_ranks_after_a_checkpoint(config, tmp_path):
    """The ranks agree on a signal at the next batch (one all-reduce per batch), whichever rank received it."""
    process = start(["fit", "--config", str(config), "--trainer.devices=2", "--trainer.accelerator=cpu",
                     "--trainer.max_epochs=100", f"--checkpoint.every_minutes={INTERVAL_MINUTES}"], tmp_path)
    wait_for(lambda: last_checkpoints(tmp_path), process, timeout=120)
    os.kill(process.pid, signal.SIGTERM)  # the launching process, global rank 0, only
    status, output = finish(process)
    assert status == 128 + signal.SIGTERM, output[-3000:]
    assert output.count("resume: zoo fit") == 1  # said once, by rank 0
    try:
        deadline = time.monotonic() + 30
        while subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True).returncode == 0:
            assert time.monotonic() < deadline, "rank 1 did not stop"
            time.sleep(0.2)
    finally:
        kill_group(process)
    [checkpoint] = last_checkpoints(tmp_path)
    assert 0 < zoo.load(checkpoint).iteration < 100 * BATCHES_PER_EPOCH // 2
