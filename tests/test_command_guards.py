"""Every command as careful as ``zoo fit`` (issue #22): sample, evaluate, validate and test refuse bad requests
before work, never write nonsense, and name what to change. Each case runs the real ``zoo`` command in a process
(a timeout each, nothing left running), on a tiny DCGAN trained once by ``zoo fit``."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults import write_config
from tests.tiny_datasets import mnist_arrays, write_idx_folder

REPO = Path(__file__).resolve().parent.parent
MAX_LINES = 6


def zoo(*args: str, cwd: Path, timeout: float = 240, path: Path | None = None) -> subprocess.CompletedProcess:
    """``zoo ARGS`` in a real process, with this checkout's code first on the path (after ``path``, if given)."""
    first = [str(path)] if path else []
    env = {**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([*first, str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "zoo.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def refused(result: subprocess.CompletedProcess, *names: str) -> str:
    """Assert a non-zero exit with one short ``zoo: error`` message and its fix, naming ``names``; the message."""
    lines = result.stderr.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("zoo: error:")), None)
    assert result.returncode != 0 and start is not None, result.stdout[-2000:] + result.stderr[-3000:]
    message = "\n".join(line for line in lines[start:] if line.strip())
    assert "Traceback" not in result.stderr and "fix:" in message, result.stderr[-3000:]
    assert len(message.splitlines()) <= MAX_LINES, message
    for name in names:
        assert name in message, message
    return message


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    """The tiny DCGAN config (160 synthetic images, 16 held out) and the checkpoint of one epoch of it."""
    folder = tmp_path_factory.mktemp("trained")
    config = write_config(folder, epochs=1)
    result = zoo("fit", "--config", str(config), cwd=folder)
    assert result.returncode == 0, result.stderr[-3000:]
    return config, folder / "runs" / "tiny" / "version_0" / "checkpoints" / "last.ckpt"


# --- zoo sample ------------------------------------------------------------------------------------------------------

def test_ddls_that_diverges_writes_nothing_and_names_the_step_size(trained, tmp_path):
    out = tmp_path / "ddls.png"
    result = zoo("sample", "--ckpt", str(trained[1]), "--mode", "ddls", "--n", "4", "--steps", "10",
                 "--step-size", "1e30", "--out", str(out), cwd=tmp_path)
    message = refused(result, "the Langevin chains diverged", "NaN or infinite", "--step-size")
    assert message.count("zoo sample --mode ddls") == 1 and "settled" not in result.stdout + result.stderr
    assert not out.exists()


def test_more_neighbours_than_training_images_are_refused(trained, tmp_path):
    out = tmp_path / "neighbours.png"
    result = zoo("sample", "--ckpt", str(trained[1]), "--mode", "neighbours", "--n", "2", "--k", "500",
                 "--out", str(out), cwd=tmp_path)
    refused(result, "--k 500", "144 training images")
    assert not out.exists()


def test_an_unknown_image_format_is_refused_before_sampling(trained, tmp_path):
    result = zoo("sample", "--ckpt", str(trained[1]), "--out", str(tmp_path / "grid.bogus"), cwd=tmp_path)
    refused(result, "unknown image format '.bogus'", ".png")


# --- zoo validate / test: the checkpoint guard of fit -----------------------------------------------------------------

@pytest.mark.parametrize("command", ["validate", "test"])
def test_validate_and_test_refuse_an_unreadable_checkpoint_in_one_message(command, trained, tmp_path):
    config, checkpoint = trained
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(checkpoint.read_bytes()[:4000])
    result = zoo(command, "--config", str(config), "--ckpt_path", str(truncated),
                 f"--trainer.default_root_dir={tmp_path}", cwd=tmp_path)
    refused(result, str(truncated), "truncated or corrupt")


# --- zoo evaluate ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, names", [
    (["--n", "3", "--metrics", "fid,pr"], ["--n 3", "pr needs at least 4"]),
    (["--n", "1", "--metrics", "fid"], ["--n 1", "fid needs at least 2"]),
    (["--n", "200", "--metrics", "fid", "--extractor", "fmnist-classifier"],  # inception is refused first here
     ["--n 200", "128 images of the test split"]),
    (["--n", "8", "--metrics", "nll"], ["--metrics nll", "no tractable likelihood"]),
], ids=["pr-below-k", "fid-one-image", "n-beyond-split", "nll-without-likelihood"])
def test_evaluate_refuses_counts_and_metrics_the_work_cannot_use(args, names, trained, tmp_path):
    refused(zoo("evaluate", "--ckpt", str(trained[1]), *args, cwd=tmp_path), *names)


def test_evaluate_will_not_append_to_its_own_checkpoint(trained, tmp_path):
    checkpoint = trained[1]
    before = sha256(checkpoint)
    result = zoo("evaluate", "--ckpt", str(checkpoint), "--n", "8", "--metrics", "fid", "--out", str(checkpoint),
                 cwd=tmp_path)
    refused(result, "is one of the inputs")
    assert sha256(checkpoint) == before


def test_evaluate_refuses_a_missing_classifier_file_in_one_message(trained, tmp_path):
    result = zoo("evaluate", "--ckpt", str(trained[1]), "--n", "8", "--metrics", "fid", "--extractor",
                 "classifier:missing.pt", cwd=tmp_path)
    message = refused(result, "--extractor: no classifier file at missing.pt", "zoo train-classifier")
    assert result.returncode == 1 and "FileNotFoundError" not in message


def test_evaluate_refuses_inception_without_torch_fidelity_before_any_work(trained, tmp_path):
    blocked = tmp_path / "blocked"  # torch_fidelity made unimportable, as where it is not installed
    blocked.mkdir()
    (blocked / "torch_fidelity.py").write_text("raise ImportError('torch_fidelity is blocked by this test')\n")
    result = zoo("evaluate", "--ckpt", str(trained[1]), "--n", "8", "--metrics", "fid", "--extractor", "inception",
                 cwd=tmp_path, path=blocked)
    refused(result, "the Inception extractor could not be built", "torch-fidelity", "--extractor fmnist-classifier")
    assert result.returncode == 1 and "sampling" not in result.stderr


# --- zoo fit: bad data and values, one message before any work -----------------------------------------------------

def test_a_data_dir_that_is_a_file_is_refused_before_any_work(tmp_path):
    (tmp_path / "SOMEFILE").write_text("not a folder")
    result = zoo("fit", "--config", "vae_fashion_mnist.yaml", "--data.init_args.data_dir", "SOMEFILE",
                 "--trainer.max_steps=1", cwd=tmp_path)
    refused(result, "data_dir 'SOMEFILE' is a file, not a folder", "fix: give the folder that holds the datasets")
    assert result.returncode == 1 and "NotADirectoryError" not in result.stderr
    assert not list(tmp_path.rglob("*.ckpt"))


def test_a_corrupt_gzip_put_in_the_raw_folder_is_named_not_skipped(tmp_path):
    raw = tmp_path / "data" / "FashionMNIST" / "raw"
    write_idx_folder(raw, mnist_arrays(), compress=True)  # as a user copies the Debian package's files there
    bad = raw / "train-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-50])
    result = zoo("fit", "--config", "vae_fashion_mnist.yaml", "--data.init_args.data_dir", "data",
                 "--trainer.max_steps=1", cwd=tmp_path)
    message = refused(result, f"Corrupt dataset file {bad.resolve()}: it cannot be decompressed",
                      "fix: copy an intact file there again, or delete it")
    assert result.returncode == 1 and message.count("fix:") == 1


@pytest.mark.parametrize("args, names", [
    (["--model", "zoo.models.gan.DCGANN"], ["Unknown class. Did you mean 'zoo.models.gan.DCGAN'"]),
    (["--model", "zoo.model.gan.DCGAN"], ["Unknown class. Did you mean 'zoo.models.gan.DCGAN'"]),
    (["--model.init_args.g_optimizer.init_args.lr", "abc"],
     ["model.init_args.g_optimizer.init_args.lr must be a number, got 'abc'"]),
    (["--model.init_args.latent_dim", "2.5"], ["model.init_args.latent_dim must be an integer, got '2.5'"]),
    (["--model.init_args.generator", "zoo.nets.DCGANGeneratr"], ["Did you mean 'zoo.nets.DCGANGenerator'"]),
], ids=["dotted-model-typo", "module-typo", "lr-not-a-number", "latent-dim-not-an-integer", "net-typo"])
def test_fit_names_the_class_meant_or_the_number_wanted(args, names, tmp_path):
    result = zoo("fit", "--config", "dcgan_fashion_mnist.yaml", *args, cwd=tmp_path)
    message = refused(result, *names)
    assert result.returncode == 2 and "Did you mean 'AVB'" not in message  # lr abc read as a class name


# --- resume ---------------------------------------------------------------------------------------------------------

def test_resume_removes_the_stale_temporary_of_a_killed_write_in_the_old_run(trained, tmp_path):
    config, checkpoint = trained
    stale = checkpoint.parent / f".last.ckpt.{2**22 + 12345}.tmp"  # a pid no process has
    stale.write_bytes(b"partial")
    result = zoo("fit", "--config", str(config), "--ckpt_path", str(checkpoint), "--trainer.max_epochs=1",
                 f"--trainer.default_root_dir={tmp_path}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert not stale.exists()
