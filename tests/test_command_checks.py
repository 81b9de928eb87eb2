"""In-process checks of issue #22: the memory of a whole sampling computation, names with "did you mean", an extra
index that is broken, resume checks of extra keys and of the data subset, the quality callbacks with ``val_size 0``
over every shipped config, and progress bars."""

import contextlib
import io
import json

import pytest
import torch
import yaml

import zoo
from datamodules import SyntheticDataModule
from tests.conftest import run_in_process as run
from zoo.cli import main, shipped_configs
from zoo.core.base import IncompatibleCheckpointError, check_resumable


@pytest.fixture(scope="module")
def vae_checkpoint(tmp_path_factory):
    model = zoo.create("vae", latent_dim=4)
    path = tmp_path_factory.mktemp("vae") / "vae.ckpt"
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams)}, path)
    return path


# --- zoo sample: the memory of the whole computation, computed in chunks ----------------------------------------------

def test_sample_memory_check_counts_the_nets_not_only_the_output(vae_checkpoint, tmp_path, monkeypatch):
    """2000 images of 28×28 are 6 MB, but decoding them at once holds far more: a 40 MB machine is refused."""
    monkeypatch.setattr("zoo.arguments.memory_bytes", lambda: 40_000_000)
    out = tmp_path / "grid.png"
    code, err = run(["sample", "--ckpt", str(vae_checkpoint), "--n", "2000", "--out", str(out)])
    assert code == 1 and "--n 2000" in err and "of memory; this machine has 40.0 MB" in err, err
    assert not out.exists()


def test_large_sample_requests_are_generated_in_chunks(vae_checkpoint, tmp_path, monkeypatch):
    from zoo.core.base import GenerativeModel

    sizes = []
    original = GenerativeModel.sample
    monkeypatch.setattr(GenerativeModel, "sample", lambda self, n, z=None, seed=None: (
        sizes.append(n), original(self, n, z, seed))[1])
    code, err = run(["sample", "--ckpt", str(vae_checkpoint), "--n", "1100", "--out", str(tmp_path / "g.png")])
    assert code == 0, err
    assert sum(s for s in sizes if s > 2) == 1100 and max(sizes) <= 500, sizes


def test_progress_bars_show_on_a_terminal_and_not_with_no_progress(vae_checkpoint, tmp_path):
    argv = ["sample", "--ckpt", str(vae_checkpoint), "--n", "1100", "--out", str(tmp_path / "g.png")]
    stderr = io.StringIO()
    stderr.isatty = lambda: True
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        main(argv)
    assert "sampling 1100 images" in stderr.getvalue()
    stderr = io.StringIO()
    stderr.isatty = lambda: True
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        main([*argv, "--no-progress"])
    assert "sampling" not in stderr.getvalue()


# --- names: did you mean ------------------------------------------------------------------------------------------

def test_a_misspelt_published_name_suggests_the_close_one():
    with pytest.raises(zoo.CheckpointError, match="does not exist. Did you mean 'vae_fashion_mnist'"):
        zoo.load("vae_fashon_mnist")
    from zoo.pretrained import get

    with pytest.raises(zoo.CheckpointError, match="unknown pretrained checkpoint 'dcgan_fashon_mnist'. Did you mean "
                                                  "'dcgan_fashion_mnist'"):
        get("dcgan_fashon_mnist")


@pytest.mark.parametrize("argv, says", [
    (["fit", "--config", "vae_fashon_mnist.yaml"], "Did you mean 'vae_fashion_mnist.yaml'"),
    (["fit", "--model", "DCGANN", "--data", "SyntheticDataModule"], "Did you mean 'DCGAN'"),
    (["sample", "--ckpt", "x.ckpt", "--mode", "dsr"], "Did you mean 'drs'"),
    (["evaluate", "--ckpt", "x.ckpt", "--metrics", "fid,prr"], "Did you mean 'pr'"),
], ids=["config", "model-class", "sampler-mode", "metric"])
def test_unknown_names_on_the_command_line_suggest_the_close_ones(argv, says, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, err = run(argv)
    assert code != 0 and says in err and "Traceback" not in err, err


def test_unknown_model_and_extractor_names_suggest_the_close_ones(vae_checkpoint):
    with pytest.raises(KeyError, match="Did you mean .*'vae'"):
        zoo.create("vea")
    code, err = run(["evaluate", "--ckpt", str(vae_checkpoint), "--n", "8", "--metrics", "fid",
                     "--extractor", "incepton"])
    assert code == 1 and "Did you mean 'inception'" in err and "Traceback" not in err, err


def test_a_broken_extra_index_is_reported_and_never_hides_the_shipped_names(tmp_path, monkeypatch):
    from zoo.pretrained import get, is_pretrained

    broken = tmp_path / "extra.json"
    broken.write_text("{ not json")
    monkeypatch.setenv("ZOO_PRETRAINED_INDEX", str(broken))
    with pytest.warns(UserWarning, match="extra.json is not valid JSON"):
        assert is_pretrained("vae_fashion_mnist") and get("vae_fashion_mnist").name == "vae_fashion_mnist"
    with pytest.raises(zoo.CheckpointError, match=r"unknown pretrained checkpoint 'team_vae'.*extra.json is not valid"):
        get("team_vae")


# --- resume -------------------------------------------------------------------------------------------------------

def test_resuming_an_ema_checkpoint_without_ema_names_the_extra_tensors():
    with_ema = zoo.create("dcgan", techniques={"ema_decay": 0.99})
    without = zoo.create("dcgan")
    with pytest.raises(IncompatibleCheckpointError, match=r"generator_ema\.\S+: in the checkpoint, not in this run"):
        check_resumable(without, {"state_dict": with_ema.state_dict()})


def test_resuming_with_another_train_subset_warns_like_another_batch_size():
    model = zoo.create("vae", latent_dim=4)
    data = SyntheticDataModule(num_images=64, val_size=16, batch_size=8, train_subset=32)
    model._trainer = type("Trainer", (), {"ckpt_path": "last.ckpt", "datamodule": data})()
    saved = {**data.hparams, "train_subset": 48}
    with pytest.warns(UserWarning, match=r"other data than it was trained with \(train_subset 48 -> 32\)"):
        check_resumable(model, {"state_dict": model.state_dict(), "datamodule_hyper_parameters": saved})


# --- val_size 0 with every shipped config ---------------------------------------------------------------------------

def _quality_callbacks(path):
    config = yaml.safe_load(path.read_text()) or {}
    for entry in (config.get("trainer") or {}).get("callbacks") or []:
        if isinstance(entry, dict) and entry.get("class_path", "").endswith("QualityMetrics"):
            yield entry.get("init_args") or {}


QUALITY_CONFIGS = sorted(name for name, path in shipped_configs().items() if list(_quality_callbacks(path)))


def test_shipped_configs_with_quality_curves_are_found():
    assert len(QUALITY_CONFIGS) >= 20


@pytest.mark.parametrize("name", QUALITY_CONFIGS)
def test_quality_callbacks_of_every_shipped_config_score_against_the_test_split_with_val_size_0(name):
    from zoo.callbacks import QualityMetrics

    data = SyntheticDataModule(num_images=48, num_test_images=24, val_size=0, batch_size=8)
    for init_args in _quality_callbacks(shipped_configs()[name]):
        callback = QualityMetrics(**{**init_args, "num_images": 16})
        with pytest.warns(UserWarning, match="val_size is 0"):
            real = callback.reference_images(data)
        assert callback.split == "test" and real.shape == (16, 1, 28, 28)


def test_evaluate_json_lines_state_their_counts(vae_checkpoint, tmp_path):
    """Sanity of the happy path the checks guard: equal real and generated counts, finite values."""
    data = SyntheticDataModule(num_images=48, num_test_images=24, val_size=8, batch_size=8)
    from zoo.metrics.evaluation import evaluate

    result = evaluate(zoo.load(vae_checkpoint), data, ("fid", "pr"), 20, "test", "fmnist-classifier")
    assert result["n_real"] == result["n_generated"] == 20 and all(v is not None for v in result.values())
    assert json.loads(json.dumps(result)) == result
