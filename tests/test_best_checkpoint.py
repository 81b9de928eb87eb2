"""best.ckpt: the run's weights at its lowest logged FID, kept across a resume and published by default."""

import json

import pytest
import torch

from tests.conftest import REPO, run_in_process

CONFIG = """seed_everything: 0
trainer:
  max_steps: {steps}
  enable_progress_bar: false
  enable_model_summary: false
  callbacks:
    - class_path: tests.scripted_quality.ScriptedFID
      init_args: {{fids: {fids}, every_n_batches: 3}}
  logger:
    class_path: zoo.loggers.CSVRunLogger
    init_args: {{name: tiny}}
model:
  class_path: zoo.models.vae.VAE
  init_args:
    latent_dim: 4
    encoder: {{class_path: zoo.nets.ConvEncoder, init_args: {{base_channels: 8}}}}
    decoder: {{class_path: zoo.nets.ConvDecoder, init_args: {{base_channels: 8}}}}
data:
  class_path: datamodules.SyntheticDataModule
  init_args: {{num_images: 64, val_size: 16, num_test_images: 16, batch_size: 8}}
images: {{every_n_batches: 0}}
"""
V_SHAPED = {0: 50.0, 3: 4.0, 6: 2.0, 9: 3.0, 12: 5.0, 15: 6.0, 18: 7.0}  # rises after its minimum at 6
LOWER_LATER = {**V_SHAPED, 15: 1.0}  # a second, lower minimum after the resume point


def fit(tmp_path, name: str, steps: int, fids: dict, *extra: str) -> None:
    config = tmp_path / f"{name}.yaml"
    config.write_text(CONFIG.format(steps=steps, fids=json.dumps(fids)))
    code, err = run_in_process(["fit", "--config", str(config), f"--trainer.default_root_dir={tmp_path / name}",
                                *extra])
    assert code == 0, err


def checkpoint(tmp_path, name: str, version: int, file: str) -> dict:
    return torch.load(tmp_path / name / "tiny" / f"version_{version}" / "checkpoints" / file, weights_only=False)


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One uninterrupted V-shaped run, the same run stopped at 9 and resumed to 18, a reference run stopped at the
    minimum (6), and a resumed run whose curve finds a lower minimum after the resume."""
    tmp_path = tmp_path_factory.mktemp("best")
    fit(tmp_path, "whole", 18, V_SHAPED)
    fit(tmp_path, "at_minimum", 6, V_SHAPED)
    fit(tmp_path, "resumed", 9, V_SHAPED)
    fit(tmp_path, "resumed", 18, V_SHAPED, "--ckpt_path", "last")
    fit(tmp_path, "lower_later", 9, LOWER_LATER)
    fit(tmp_path, "lower_later", 18, LOWER_LATER, "--ckpt_path", "last")
    return tmp_path


def test_best_ckpt_holds_the_weights_of_the_curves_minimum_not_the_last(runs):
    best, last = checkpoint(runs, "whole", 0, "best.ckpt"), checkpoint(runs, "whole", 0, "last.ckpt")
    assert best["zoo"]["iteration"] == 6 and last["zoo"]["iteration"] == 18
    reference = checkpoint(runs, "at_minimum", 0, "last.ckpt")  # the same training, stopped at 6
    assert same_weights(best["state_dict"], reference["state_dict"])
    assert not same_weights(best["state_dict"], last["state_dict"])


def test_a_resumed_run_keeps_the_best_of_its_earlier_leg_in_its_new_folder(runs):
    carried = checkpoint(runs, "resumed", 1, "best.ckpt")
    assert carried["zoo"]["iteration"] == 6
    assert same_weights(carried["state_dict"], checkpoint(runs, "whole", 0, "best.ckpt")["state_dict"])
    assert checkpoint(runs, "resumed", 1, "last.ckpt")["zoo"]["iteration"] == 18


def test_a_resumed_run_replaces_the_carried_best_when_it_finds_a_lower_fid(runs):
    assert checkpoint(runs, "lower_later", 0, "best.ckpt")["zoo"]["iteration"] == 6
    assert checkpoint(runs, "lower_later", 1, "best.ckpt")["zoo"]["iteration"] == 15
    assert sorted(p.name for p in (runs / "lower_later" / "tiny" / "version_1" / "checkpoints").iterdir()) == [
        "best.ckpt", "last.ckpt"]  # no best-v1.ckpt or temporaries beside them


def test_publish_takes_the_best_by_default_and_the_last_when_asked(runs, tmp_path):
    last = runs / "resumed" / "tiny" / "version_1" / "checkpoints" / "last.ckpt"
    for which, iteration in (("best", 6), ("last", 18)):
        code, err = run_in_process(["publish", "--ckpt", str(last), "--name", f"tiny_{which}", "--out",
                                    str(tmp_path), "--metrics", "none", "--which", which])
        assert code == 0, err
        entry = json.loads((tmp_path / f"tiny_{which}.entry.json").read_text())[f"tiny_{which}"]
        assert entry["training"]["published"]["iteration"] == iteration == entry["training"]["iterations"]
        assert entry["training"]["published"]["which"] == which
        card = (tmp_path / f"tiny_{which}.md").read_text()
        assert f"- **Published weights**: iteration {iteration}, " in card
    code, err = run_in_process(["publish", "--ckpt", str(last), "--name", "tiny_default", "--out", str(tmp_path),
                                "--metrics", "none"])
    assert code == 0, err
    entry = json.loads((tmp_path / "tiny_default.entry.json").read_text())["tiny_default"]
    assert entry["training"]["published"] == {
        "which": "best", "iteration": 6, "why": "the run's best.ckpt: the weights at its lowest logged FID"}


def test_a_file_zoo_publish_wrote_starts_a_new_run_or_is_scored_in_a_real_process(runs, tmp_path):
    from tests.faults import run as run_process

    last = runs / "whole" / "tiny" / "version_0" / "checkpoints" / "last.ckpt"
    code, err = run_in_process(["publish", "--ckpt", str(last), "--name", "tiny", "--out", str(tmp_path),
                                "--metrics", "none", "--weights-dtype", "float16"])
    assert code == 0, err
    release, config = tmp_path / "tiny.ckpt", runs / "whole.yaml"
    for command, expected in (("fit", "starting a new run from the weights of"), ("validate", "val/"),
                              ("test", "test/")):
        code, output = run_process([command, "--config", str(config), "--ckpt_path", str(release),
                                    f"--trainer.default_root_dir={tmp_path / command}"], cwd=runs, timeout=120,
                                    env={"PYTHONPATH": str(REPO)})  # the scripted curve's module
        assert code == 0 and expected in output and "Traceback" not in output, output[-3000:]
    resumed = torch.load(next((tmp_path / "fit").rglob("last.ckpt")), weights_only=False)
    assert resumed["zoo"]["iteration"] == 18 and "optimizer_states" in resumed  # a fresh run of the config's 18
