"""The convergence rule of published models (the run's own FID curve), and publish recording it with the wall time."""

import json

import pytest

from zoo.cli import main
from zoo.metrics.convergence import (
    CONVERGED, IMPROVING, PEAKED, RULE, TOO_SHORT, explain, judge, quality_curve, run_convergence, verdict_of,
)

FID = "val/fid[fmnist-classifier]"


def curve(*fids: float, every: int = 500) -> list[tuple[int, float]]:
    """A quality curve with one point every ``every`` iterations, from iteration 0."""
    return [(i * every, fid) for i, fid in enumerate(fids)]


def test_a_curve_still_falling_in_its_last_fifth_is_improving():
    falling = curve(150.0, 40.0, 25.0, 18.0, 14.0, 12.0, 11.0, 10.0, 9.0, 8.0)  # tail: iterations >= 3600
    verdict = judge(falling)
    assert verdict.verdict == IMPROVING and not verdict.publishable
    assert verdict.improvement == pytest.approx((10.0 - 8.0) / 10.0)
    assert "still improving" in verdict.explain() and "20.0%" in verdict.explain()


def test_a_flat_tail_has_converged_whether_slightly_better_or_slightly_worse():
    better = curve(150.0, 20.0, 12.0, 10.5, 10.2, 10.1, 10.0, 10.0, 9.9, 9.85)
    assert judge(better).verdict == CONVERGED and judge(better).converged and judge(better).publishable
    worse = curve(150.0, 20.0, 12.0, 10.5, 10.2, 10.1, 10.0, 10.0, 10.2, 10.3)
    verdict = judge(worse)
    assert verdict.verdict == CONVERGED and verdict.improvement == pytest.approx(-0.02)
    assert "within 2.0% of the best" in verdict.explain()


def test_a_curve_that_rose_after_its_minimum_has_peaked_and_reports_the_decline():
    peaked = curve(150.0, 9.0, 4.0, 5.0, 6.0, 8.0, 9.0, 10.0, 10.5, 10.49)
    verdict = judge(peaked)
    assert verdict.verdict == PEAKED and verdict.publishable and not verdict.converged
    assert verdict.best == (1000, 4.0) and verdict.decline == pytest.approx(10.49 / 4.0 - 1)
    summary = verdict.summary()
    assert summary["verdict"] == PEAKED and summary["best"] == {"iteration": 1000, "fid": 4.0}
    assert "peaked at iteration 1000" in verdict.explain() and "162.2% worse" in verdict.explain()


def test_the_minimum_points_rule_needs_eight_points_and_two_in_the_last_fifth():
    seven = curve(150.0, 20.0, 12.0, 10.5, 10.2, 10.1, 10.0)
    assert judge(seven).verdict == TOO_SHORT and judge(seven).improvement is None
    assert judge(seven + [(3500, 10.0)]).verdict == CONVERGED  # the eighth point: two in the tail (>= 2800)
    one_in_tail = curve(150.0, 20.0, 12.0, 10.5, 10.2, 10.1, 10.0, 10.0, every=100) + [(1000, 9.9)]
    verdict = judge(one_in_tail)
    assert verdict.verdict == TOO_SHORT and "needs 8, 2 in the last fifth" in verdict.explain()
    assert verdict.summary()["tail_improvement"] is None and verdict.summary()["rule"] == RULE
    nan_point = curve(150.0, float("nan"), 8.0, 7.9, 7.9, 7.8, 7.8, 7.8, 7.8)
    assert len(judge(nan_point).points) == 8


def test_a_summary_recorded_before_verdicts_had_names_is_judged_by_the_same_rule():
    for fids, expected in [((150.0, 9.0, 4.0, 5.0, 6.0, 8.0, 9.0, 10.0, 10.5, 10.49), PEAKED),
                           ((150.0, 40.0, 25.0, 18.0, 14.0, 12.0, 11.0, 10.0, 9.0, 8.0), IMPROVING),
                           ((150.0, 20.0, 12.0, 10.5, 10.2, 10.1, 10.0, 10.0, 9.9, 9.85), CONVERGED),
                           ((150.0, 10.0, 9.0, 8.9), TOO_SHORT)]:
        summary = judge(curve(*fids)).summary()
        del summary["verdict"]
        assert verdict_of(summary) == expected and explain(summary) == judge(curve(*fids)).explain()


def test_the_curve_is_read_from_a_csv_log_with_blank_cells_and_a_resumed_step(tmp_path):
    later = "".join(f",{i},10.4,\n" for i in range(2000, 4500, 500))
    (tmp_path / "metrics.csv").write_text(
        f"epoch,step,{FID},train/loss\n,0,150.0,\n0,49,,3.2\n,500,12.0,\n,1000,11.0,\n,1000,10.5,\n,1500,10.4,\n" + later)
    assert quality_curve(tmp_path / "metrics.csv")[:4] == [(0, 150.0), (500, 12.0), (1000, 10.5), (1500, 10.4)]
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
