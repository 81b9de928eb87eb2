"""Resuming refuses checkpoints of another model or other net shapes (one message naming both), warns when the data
changed, finds the newest run with ``--ckpt_path last``, and lets one argument decide where a run writes."""

from pathlib import Path

import pytest
import yaml

import zoo
from tests.faults import write_config
from zoo.cli import main, shipped_configs


def _fit(config: Path, *args: str) -> tuple[int, str]:
    try:
        main(["fit", "--config", str(config), *args])
    except SystemExit as stop:
        return stop.code, ""
    return 0, ""


@pytest.fixture()
def trained(tmp_path, monkeypatch):
    """A 1-epoch run of the tiny DCGAN config in ``tmp_path/runs``; its config and checkpoint."""
    monkeypatch.chdir(tmp_path)
    config = write_config(tmp_path, epochs=1)
    assert _fit(config)[0] == 0
    return config, tmp_path / "runs" / "tiny" / "version_0" / "checkpoints" / "last.ckpt"


def test_checkpoint_of_another_model_is_refused_naming_both(trained, tmp_path, capsys):
    config, checkpoint = trained
    other = tmp_path / "wgan.yaml"
    other.write_text(config.read_text().replace("zoo.models.gan.DCGAN", "zoo.models.wgan.WGANGP")
                     .replace("DCGANDiscriminator", "DCGANCritic"))
    assert _fit(other, "--ckpt_path", str(checkpoint))[0] == 1
    err = capsys.readouterr().err
    assert f"{checkpoint} holds a zoo.models.gan.DCGAN, but this run builds a zoo.models.wgan.WGANGP" in err
    assert "Traceback" not in err


def test_checkpoint_of_other_net_shapes_is_refused_naming_the_tensors(trained, capsys):
    config, checkpoint = trained
    assert _fit(config, "--ckpt_path", str(checkpoint),
                "--model.init_args.generator.init_args.base_channels=16")[0] == 1
    err = capsys.readouterr().err
    assert "whose nets differ from this run's zoo.models.gan.DCGAN" in err
    assert "in the checkpoint" in err and "here" in err


def test_resuming_with_another_batch_size_warns(trained):
    config, checkpoint = trained
    with pytest.warns(UserWarning, match=r"other data than it was trained with \(batch_size 16 -> 8\)"):
        assert _fit(config, "--ckpt_path", str(checkpoint), "--trainer.max_epochs=2",
                    "--data.init_args.batch_size=8")[0] == 0


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all"], ids=["empty", "garbage"])
def test_unreadable_checkpoint_is_refused_before_training(content, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(content)
    assert _fit(write_config(tmp_path, epochs=1), "--ckpt_path", str(bad))[0] == 1
    err = capsys.readouterr().err
    assert f"zoo: error: {bad} is not a readable checkpoint" in err
    assert not list(tmp_path.rglob("last.ckpt")), "training started despite the bad checkpoint"


def test_ckpt_path_last_takes_the_newest_run_of_the_config_and_says_so(trained, tmp_path, capsys):
    config, first = trained
    assert _fit(config, "--ckpt_path", "last", "--trainer.max_epochs=2")[0] == 0
    second = tmp_path / "runs" / "tiny" / "version_1" / "checkpoints" / "last.ckpt"
    assert f"resuming from: {first.relative_to(tmp_path)}" in capsys.readouterr().out
    assert zoo.load(second).iteration == 18
    assert _fit(config, "--ckpt_path", "last", "--trainer.max_epochs=3")[0] == 0
    assert f"resuming from: {second.relative_to(tmp_path)}" in capsys.readouterr().out


def test_ckpt_path_last_without_any_run_names_where_it_looked(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert _fit(write_config(tmp_path, epochs=1), "--ckpt_path", "last")[0] == 1
    assert f"no last.ckpt in {Path('runs') / 'tiny' / '*' / 'checkpoints'}" in capsys.readouterr().err


def test_every_shipped_config_leaves_its_log_folder_to_default_root_dir():
    """No shipped config pins its logs elsewhere: its loggers leave save_dir to --trainer.default_root_dir."""
    for name, path in shipped_configs().items():
        loggers = (yaml.safe_load(path.read_text()).get("trainer") or {}).get("logger")
        for logger in loggers if isinstance(loggers, list) else [loggers]:
            if isinstance(logger, dict):
                assert "save_dir" not in (logger.get("init_args") or {}), f"{name} pins its logs"


def test_default_root_dir_decides_where_a_shipped_config_logs(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--config", "dcgan_fashion_mnist.yaml", "--trainer.default_root_dir=elsewhere",
              "--print_config"])
    resolved = yaml.safe_load(capsys.readouterr().out)
    assert resolved["trainer"]["default_root_dir"] == "elsewhere"
    assert resolved["trainer"]["logger"]["init_args"]["save_dir"] is None  # filled from default_root_dir
