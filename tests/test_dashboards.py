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


def test_training_terms_reach_the_logger_every_n_batches_and_at_the_end(tmp_path):
    """Terms are logged only on the batches the logger writes (every ``log_every_n_steps``-th) and on the last one
    (for ``trainer.callback_metrics``), so the other batches pay nothing for logging."""
    import torch
    from lightning.pytorch.loggers import CSVLogger

    import zoo
    from tests.conftest import synthetic_data, tiny_trainer

    torch.manual_seed(0)
    model = zoo.create("gan", image_shape=(1, 28, 28), generator={"class_path": "zoo.nets.MLPGenerator",
                       "init_args": {"hidden": [32]}}, discriminator={"class_path": "zoo.nets.MLPDiscriminator",
                       "init_args": {"hidden": [32]}})
    seen = {}
    original = model.log
    model.log = lambda name, value, **kwargs: (seen.setdefault(model.iteration, set()).add(name),
                                               original(name, value, **kwargs))
    trainer = tiny_trainer(tmp_path, logger=CSVLogger(tmp_path), log_every_n_steps=3, max_steps=model.optimizer_steps(7))
    trainer.fit(model, datamodule=synthetic_data(num_images=160))
    assert sorted(seen) == [2, 5, 6]  # batches 3 and 6 of log_every_n_steps = 3, and the last (7th) batch
    assert {"train/d/loss", "train/g/loss", "train/d/grad_norm", "train/g/grad_norm"} <= seen[2]
    rows = [r for r in csv.DictReader(next(Path(tmp_path).rglob("metrics.csv")).open()) if r.get("train/d/loss")]
    assert [int(r["step"]) for r in rows] == [2, 5]
    assert {"train/d/loss", "train/g/loss"} <= set(trainer.callback_metrics)
