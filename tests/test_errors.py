"""Bad input stops with a clear error and loses no saved work."""

import pytest
import torch

import zoo
from tests.conftest import synthetic_data, tiny_trainer


def test_nan_loss_stops_before_the_step_and_the_saved_checkpoint_survives(tmp_path):
    model = zoo.create("vae", image_shape=(1, 28, 28))
    trainer = tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=2)
    trainer.fit(model, datamodule=synthetic_data())
    trainer.save_checkpoint(tmp_path / "good.ckpt")
    weights = {k: v.clone() for k, v in model.state_dict().items()}

    model.elbo_terms = lambda x: {"loss": torch.tensor(float("nan"), requires_grad=True)}
    with pytest.raises(zoo.NonFiniteLossError, match="'vae' loss is nan at iteration 2.*learning rate"):
        tiny_trainer(tmp_path, max_epochs=1, limit_train_batches=2).fit(model, datamodule=synthetic_data())
    for key, value in model.state_dict().items():
        assert torch.equal(value, weights[key]), f"{key} was changed by the failed step"
    assert zoo.load(tmp_path / "good.ckpt").iteration == 2


def test_truncated_checkpoint_gives_a_clear_error(tmp_path):
    model = zoo.create("gan", image_shape=(1, 28, 28))
    path = tmp_path / "model.ckpt"
    tiny_trainer(tmp_path, max_steps=2).fit(model, datamodule=synthetic_data())
    model.trainer.save_checkpoint(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(zoo.CheckpointError, match="truncated or corrupt"):
        zoo.load(path)
    with pytest.raises(zoo.CheckpointError, match="does not exist"):
        zoo.load(tmp_path / "missing.ckpt")


@pytest.mark.parametrize("given", [None, 3, 2.5, b"last.ckpt", ["last.ckpt"]], ids=lambda v: type(v).__name__)
def test_load_says_what_to_pass_for_a_value_that_is_no_checkpoint(given):
    with pytest.raises(TypeError, match=r"a checkpoint must be a path \(str or pathlib.Path\) to a .ckpt file or the "
                                        r"name of a published checkpoint \(`zoo pull --list`\).*; got "):
        zoo.load(given)
    with pytest.raises(zoo.CheckpointError, match="no checkpoint given"):
        zoo.load("")


def test_an_inception_network_that_cannot_be_built_is_a_user_error(monkeypatch):
    """torch-fidelity installed but offline: building the network (downloading its weights) fails late, inside
    the evaluation; that is one message with the fix too, not a traceback."""
    import torchmetrics.image.fid

    from zoo.errors import explain
    from zoo.metrics.quality import QualityEvaluator

    def offline(*args, **kwargs):
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr("zoo.metrics.features.check_inception", lambda: None, raising=False)  # torch-fidelity "there"
    monkeypatch.setattr(torchmetrics.image.fid, "FrechetInceptionDistance", offline)
    evaluator = QualityEvaluator(torch.rand(4, 1, 28, 28), "inception")
    with pytest.raises(Exception) as raised:
        evaluator.features(torch.rand(2, 1, 28, 28))
    message = explain(raised.value)
    assert message is not None and "OSError: <urlopen error" in message and len(message.splitlines()) == 2
    assert message.splitlines()[1].startswith("fix: `pip install torch-fidelity` and run once online")


class _Opaque:
    """A Python object a checkpoint cannot load safely."""


def test_checkpoint_with_pickled_objects_names_the_cause_and_the_trusted_escape(tmp_path):
    model = zoo.create("vae", image_shape=(1, 28, 28), latent_dim=4)
    path = tmp_path / "opaque.ckpt"
    hparams = {**model.hparams, "extra": _Opaque()}
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": hparams}, path)
    with pytest.raises(zoo.CheckpointError, match=r"Python objects besides weights.*trusted=True"):
        zoo.load(path)
    checkpoint = zoo.checkpoint.read_checkpoint(path, trusted=True)  # the escape hatch for files one trusts
    assert isinstance(checkpoint["hyper_parameters"]["extra"], _Opaque)


def test_unknown_model_name_lists_the_registered_ones():
    with pytest.raises(KeyError, match="registered models: .*dcgan"):
        zoo.create("no_such_model")


def test_image_size_the_nets_cannot_handle():
    with pytest.raises(ValueError, match="30×30 images.*image_size"):
        zoo.create("dcgan", image_shape=(1, 30, 30))


def test_bad_option_values_are_refused_at_construction():
    with pytest.raises(ValueError, match="n_critic"):
        zoo.create("gan", n_critic=0)
    with pytest.raises(ValueError, match="non_saturating"):
        zoo.create("gan", generator_objective="wasserstein")
    with pytest.raises(ValueError, match="likelihood"):
        zoo.create("vae", likelihood="poisson")


# --- the one place: zoo: error + fix, tracebacks only for bugs or on request ---------------------------------------

def _zoo(argv, capsys):
    from zoo.cli import main

    with pytest.raises(SystemExit) as stop:
        main(argv)
    captured = capsys.readouterr()
    return stop.value.code, captured.err


TINY = ["fit", "--model=VAE", "--data=SyntheticDataModule", "--data.init_args.num_images=48",
        "--data.init_args.val_size=16", "--data.init_args.batch_size=8", "--trainer.max_steps=1",
        "--trainer.logger=false", "--trainer.enable_progress_bar=false"]


@pytest.mark.parametrize("content, says", [
    (b"", "is empty"),
    (b"- model\n- data\n", "holds a YAML list"),
    (b"42\n", "holds a YAML int"),
    (b"\xff\xfe\x00model: x", "is not UTF-8"),
    (b"model: [unclosed\n", "is not valid YAML at line"),
])
def test_config_files_that_are_not_configs_are_named_with_what_a_config_is(tmp_path, capsys, content, says):
    config = tmp_path / "my.yaml"
    config.write_bytes(content)
    code, err = _zoo(["fit", "--config", str(config)], capsys)
    assert code == 1 and f"config {config} {says}" in err
    assert "fix: a config is a YAML mapping of sections" in err and "Traceback" not in err


@pytest.mark.parametrize("kind", ["folder", "empty", "truncated"])
def test_fit_ckpt_path_gets_the_same_one_line_checkpoint_errors_as_sample(tmp_path, capsys, kind):
    path = tmp_path / "bad.ckpt"
    if kind == "folder":
        path.mkdir()
    else:
        model = zoo.create("vae", latent_dim=4)
        torch.save({"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams)}, path)
        path.write_bytes(b"" if kind == "empty" else path.read_bytes()[:3000])
    fit_code, fit_err = _zoo([*TINY, f"--trainer.default_root_dir={tmp_path}", "--ckpt_path", str(path)], capsys)
    sample_code, sample_err = _zoo(["sample", "--ckpt", str(path), "--out", str(tmp_path / "x.png")], capsys)
    fit_lines = [line for line in fit_err.splitlines() if line.startswith(("zoo: error:", "fix:"))]
    assert fit_code == sample_code == 1 and len(fit_lines) == 2
    assert fit_lines == [line for line in sample_err.splitlines() if line.startswith(("zoo: error:", "fix:"))]
    assert {"folder": "is a folder", "empty": "(an empty file)", "truncated": "truncated or corrupt"}[kind] in fit_err


def test_output_paths_that_cannot_be_written_are_refused_before_the_work(tmp_path, capsys, monkeypatch):
    import zoo.checkpoint

    loaded = []
    monkeypatch.setattr(zoo.checkpoint, "load", lambda *a, **k: loaded.append(a))
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    for argv in (["sample", "--ckpt", "x.ckpt", "--out", str(blocker / "grid.png")],
                 ["sample", "--ckpt", "x.ckpt", "--out", str(tmp_path)],
                 ["evaluate", "--ckpt", "x.ckpt", "--out", str(blocker / "scores.jsonl")]):
        code, err = _zoo(argv, capsys)
        assert code == 1 and ("--out" in err or "output folder" in err), err
        assert "Nothing was computed" in err and "Traceback" not in err
    assert loaded == []  # refused before any checkpoint was loaded


def test_lightning_and_torch_rejections_are_shown_in_zoo_format(tmp_path, capsys):
    root = f"--trainer.default_root_dir={tmp_path}"
    code, err = _zoo([*TINY, root, "--trainer.max_epochs=-5"], capsys)
    assert code == 1 and "zoo: error: `max_epochs` must be a non-negative integer" in err and "fix:" in err
    code, err = _zoo([*TINY, root, "--model.init_args.optimizer=torch.optim.Adam",
                      "--model.init_args.optimizer.lr=-1"], capsys)
    assert code == 1 and "refuses its arguments: Invalid learning rate: -1.0" in err and "lr > 0" in err
    code, err = _zoo([*TINY, root, "--data.init_args.val_size=100"], capsys)
    assert code == 1 and "val_size=100 leaves no training images out of 48" in err


def test_debug_flag_and_variable_show_the_traceback_of_a_user_error(tmp_path, capsys, monkeypatch):
    argv = ["sample", "--ckpt", str(tmp_path / "missing.ckpt"), "--out", str(tmp_path / "x.png")]
    code, err = _zoo(argv, capsys)
    assert code == 1 and "Traceback" not in err and "--debug" in err
    code, err = _zoo([*argv, "--debug"], capsys)
    assert code == 1 and "Traceback" in err and "CheckpointError" in err and "zoo: error: checkpoint" in err
    monkeypatch.setenv("ZOO_DEBUG", "1")
    code, err = _zoo(argv, capsys)
    assert code == 1 and "Traceback" in err


def test_a_bug_keeps_its_traceback(monkeypatch):
    from zoo.cli import main
    from zoo.commands import sample

    def broken(argv):
        raise KeyError("a bug in zoo, not the user's input")

    monkeypatch.setattr(sample, "run", broken)
    with pytest.raises(KeyError, match="a bug in zoo"):
        main(["sample", "--ckpt", "x"])


def test_sampler_that_does_not_apply_is_one_message(tmp_path, capsys):
    model = zoo.create("vae", latent_dim=4)
    path = tmp_path / "vae.ckpt"
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams)}, path)
    code, err = _zoo(["sample", "--ckpt", str(path), "--mode", "drs", "--out", str(tmp_path / "x.png")], capsys)
    assert code == 1 and "zoo: error: DRS does not apply to VAE" in err and "fix:" in err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("flag, says, not_says", [
    ("--trainer.limit_train_batches", "trainer.limit_train_batches must be a number, got 'abc'", "an integer"),
    ("--trainer.precision", "bf16-mixed", "must be an integer"),  # takes names too: the parser's own list
], ids=["int-or-float", "int-or-names"])
def test_a_non_numeric_value_is_called_so_only_where_the_key_takes_numbers_alone(flag, says, not_says, capsys):
    code, err = _zoo(["fit", "--config", "dcgan_fashion_mnist.yaml", flag, "abc"], capsys)
    assert code == 2 and says in err and not_says not in err and "Traceback" not in err, err
