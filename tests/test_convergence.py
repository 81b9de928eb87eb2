"""The convergence rule of published models (the run's own FID curve), and publish recording it with the wall time."""

import json

import pytest

from zoo.cli import main
from zoo.metrics.convergence import RULE, judge, quality_curve, run_convergence

FID = "val/fid[fmnist-classifier]"


def test_a_curve_that_flattens_has_converged_and_one_still_falling_has_not():
    flat = [(0, 150.0), (500, 20.0), (1000, 12.0), (1500, 10.2), (2000, 10.0), (2500, 9.9)]
    verdict = judge(flat)
    assert verdict.converged and verdict.improvement == pytest.approx((10.2 - 9.9) / 10.2)  # tail: iterations >= 2000
    falling = [(0, 150.0), (500, 40.0), (1000, 25.0), (1500, 18.0), (2000, 14.0), (2500, 11.0)]
    assert not judge(falling).converged and judge(falling).improvement == pytest.approx((18.0 - 11.0) / 18.0)


def test_a_curve_that_got_worse_at_the_end_has_converged_and_noise_in_the_head_does_not_count():
    worse = [(0, 150.0), (500, 9.0), (1000, 8.0), (1500, 8.5), (2000, 8.3), (2500, 8.6)]
    assert judge(worse).converged and judge(worse).improvement < 0
    nan_point = [(0, 150.0), (500, float("nan")), (1000, 8.0), (1500, 7.9), (2000, 7.9), (2500, 7.8)]
    assert len(judge(nan_point).points) == 5


def test_too_short_a_curve_cannot_show_convergence():
    verdict = judge([(0, 150.0), (500, 10.0), (1000, 9.9)])
    assert verdict.improvement is None and not verdict.converged
    assert verdict.summary()["tail_improvement"] is None and verdict.summary()["rule"] == RULE


def test_the_curve_is_read_from_a_csv_log_with_blank_cells_and_a_resumed_step(tmp_path):
    (tmp_path / "metrics.csv").write_text(
        f"epoch,step,{FID},train/loss\n,0,150.0,\n0,49,,3.2\n,500,12.0,\n,1000,11.0,\n,1000,10.5,\n,1500,10.4,\n")
    assert quality_curve(tmp_path / "metrics.csv") == [(0, 150.0), (500, 12.0), (1000, 10.5), (1500, 10.4)]
    assert run_convergence(tmp_path).converged
    assert run_convergence(tmp_path / "elsewhere") is None


TINY_VAE = """seed_everything: 0
trainer:
  max_steps: 12
  enable_progress_bar: false
  enable_model_summary: false
  callbacks:
    - class_path: zoo.callbacks.QualityMetrics
      init_args: {every_n_batches: 3, num_images: 16, extractor: fmnist-classifier}
  logger:
    class_path: zoo.loggers.CSVRunLogger
    init_args: {name: tiny_vae}
model:
  class_path: zoo.models.vae.VAE
  init_args:
    latent_dim: 4
    encoder: {class_path: zoo.nets.ConvEncoder, init_args: {base_channels: 8}}
    decoder: {class_path: zoo.nets.ConvDecoder, init_args: {base_channels: 8}}
data:
  class_path: datamodules.SyntheticDataModule
  init_args: {num_images: 64, val_size: 16, num_test_images: 16, batch_size: 8}
images: {every_n_batches: 0}
"""


def test_publish_records_the_runs_wall_time_and_convergence_in_the_entry_and_card(tmp_path, capsys):
    config = tmp_path / "tiny_vae.yaml"
    config.write_text(TINY_VAE)
    main(["fit", "--config", str(config), f"--trainer.default_root_dir={tmp_path / 'runs'}"])
    run = tmp_path / "runs" / "tiny_vae" / "version_0"
    curve = quality_curve(run / "metrics.csv")
    assert [i for i, _ in curve] == [0, 3, 6, 9, 12]  # the start, every 3 batches, the end
    main(["publish", "--ckpt", str(run / "checkpoints" / "last.ckpt"), "--name", "tiny_vae", "--out",
          str(tmp_path / "release"), "--metrics", "fid,classes", "--n", "16", "--extractor", "fmnist-classifier"])
    entry = json.loads((tmp_path / "release" / "tiny_vae.entry.json").read_text())["tiny_vae"]
    training = entry["training"]
    assert training["wall_seconds"] >= 0 and training["convergence"] == judge(curve).summary()
    assert 1 <= entry["metrics"]["classes[fmnist-classifier]"] <= 10
    card = (tmp_path / "release" / "tiny_vae.md").read_text()
    assert "- **Convergence**: " in card and RULE in card and f"last {curve[-1][1]:.2f} at 12" in card
