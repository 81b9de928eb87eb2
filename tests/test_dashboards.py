"""What a researcher sees on the dashboard: W&B offline runs read back from their files, and the CSV equivalent."""

import csv
from pathlib import Path

from tests.test_cli import TINY_FIT
from tests.wandb_records import artifacts, config, history_keys
from zoo.cli import main

QUALITY = [
    "--trainer.callbacks+=zoo.callbacks.QualityMetrics",
    "--trainer.callbacks.every_n_batches=2",
    "--trainer.callbacks.num_images=32",
    "--trainer.callbacks.metrics=[fid,pr]",
    "--trainer.log_every_n_steps=1",
]


def test_wandb_offline_run_has_config_losses_grad_norms_images_quality_and_model_artifact(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "offline")
    main([*TINY_FIT, *QUALITY, "--trainer.logger=WandbLogger", "--trainer.logger.init_args.save_dir=wb",
          "--trainer.logger.init_args.project=zoo-test"])
    run = next(Path("wb/wandb").glob("offline-run-*"))
    keys = history_keys(run)
    for key in ("train/d/loss", "train/g/loss", "train/d/accuracy", "train/d/grad_norm", "train/g/grad_norm",
                "images/samples", "images/interpolation", "val/fid[fmnist-classifier]",
                "val/precision[fmnist-classifier]"):
        assert key in keys, f"{key} missing from the run history"
    resolved = config(run)["config"]
    assert resolved["model"]["class_path"].endswith("DCGAN")
    assert resolved["data"]["init_args"]["num_images"] == 48 and "trainer" in resolved
    (model,) = artifacts(run)
    assert model["type"] == "model" and model["metadata"]["model"] == "DCGAN"
    assert model["metadata"]["iteration"] == 3 and "val/fid[fmnist-classifier]" in model["metadata"]["quality"]
    assert list(run.rglob("media/images/images/interpolation_*.png"))


def test_csv_logger_gets_the_same_metrics_and_png_grids(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    main([*TINY_FIT, *QUALITY, "--trainer.logger=CSVLogger", "--trainer.logger.init_args.save_dir=csv"])
    log_dir = next(Path("csv").rglob("metrics.csv")).parent
    columns = set(next(csv.reader((log_dir / "metrics.csv").open())))
    assert {"train/d/loss", "train/g/grad_norm", "val/fid[fmnist-classifier]"} <= columns
    assert "config" in (log_dir / "hparams.yaml").read_text()
    assert {p.name for p in (log_dir / "images").glob("*_final.png")} == {"samples_final.png", "interpolation_final.png"}
