"""FID/KID/IS/precision-recall on the classifier extractor, the IWAE NLL, and `zoo evaluate`."""

import json

import pytest
import torch
import torch.nn.functional as F
from lightning.pytorch import seed_everything

import zoo
from tests.conftest import fashion_mnist, needs_fashion_mnist, tiny_trainer
from zoo.metrics.likelihood import importance_sampled_nll
from zoo.metrics.precision_recall import precision_recall
from zoo.metrics.quality import QualityEvaluator, frechet_distance, real_images


def test_fid_of_known_gaussians_and_of_a_set_with_itself():
    torch.manual_seed(0)
    a = torch.randn(4000, 8, dtype=torch.double)
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-6)
    # N(0, I) vs N(1, I) in 8 dims: ||mu1 - mu2||² = 8, equal covariances.
    assert frechet_distance(a, torch.randn(4000, 8, dtype=torch.double) + 1) == pytest.approx(8, rel=0.05)


def test_precision_recall_of_a_collapsed_generator():
    torch.manual_seed(0)
    real = torch.randn(1000, 4)
    collapsed = real[:10].repeat(100, 1) + 0.01 * torch.randn(1000, 4)  # 10 modes, all on the data
    precision, recall = precision_recall(real, collapsed)
    assert precision > 0.95 and recall < 0.2
    precision, recall = precision_recall(real, torch.randn(1000, 4))
    assert precision > 0.8 and recall > 0.8


@pytest.fixture(scope="module")
def fashion_test_and_train():
    data = fashion_mnist(batch_size=1000)
    return real_images(data, "test", 5000), real_images(data, "train", 5000)


@needs_fashion_mnist
def test_fid_orders_real_blurred_and_noise(fashion_test_and_train):
    (test, test_labels), (train, _) = fashion_test_and_train
    evaluator = QualityEvaluator(test, "fmnist-classifier")
    real = evaluator.score(train, ("fid",))["fid[fmnist-classifier]"]
    blurred = evaluator.score(F.avg_pool2d(F.pad(test, (1, 1, 1, 1), mode="replicate"), 3, 1), ("fid",))
    noise = evaluator.score(torch.rand_like(test), ("fid",))["fid[fmnist-classifier]"]
    assert evaluator.score(test, ("fid",))["fid[fmnist-classifier]"] == pytest.approx(0, abs=1e-3)
    assert real < blurred["fid[fmnist-classifier]"] < noise
    assert real < 0.05 * noise


@needs_fashion_mnist
def test_inception_score_of_one_class_is_near_one_and_of_all_classes_high(fashion_test_and_train):
    (test, labels), _ = fashion_test_and_train
    evaluator = QualityEvaluator(test, "fmnist-classifier")
    one_class = evaluator.inception_score(test[labels == 1])[0]  # trousers: the classifier is sure of them
    assert one_class < 1.2
    assert evaluator.inception_score(test)[0] > 6


@needs_fashion_mnist
def test_iwae_nll_is_below_the_negative_elbo_and_falls_with_k(tmp_path):
    seed_everything(0)
    data = fashion_mnist(batch_size=64, train_subset=2048, val_size=512)
    model = zoo.create("vae", latent_dim=8)
    tiny_trainer(tmp_path, max_epochs=1).fit(model, datamodule=data)
    model.eval()
    images = real_images(data, "test", 64)[0] * 2 - 1
    with torch.no_grad():
        nelbo = torch.stack([model.elbo_terms(images)["nelbo"] for _ in range(20)]).mean()
    torch.manual_seed(0)
    nll = {k: importance_sampled_nll(model, images, k).mean() for k in (1, 10, 200)}
    assert nll[1] == pytest.approx(nelbo.item(), rel=0.02)  # k = 1 is the ELBO
    assert nll[200] < nll[10] < nll[1]
    assert nll[200] > nelbo - 0.1 * nelbo.abs(), "the bound tightened by an implausible amount"


def test_evaluate_command_prints_one_json_line_per_checkpoint(tmp_path, capsys):
    from tests.conftest import synthetic_data
    from zoo.cli import main

    model = zoo.create("vae", image_shape=(1, 28, 28))
    data = synthetic_data()
    trainer = tiny_trainer(tmp_path, max_steps=2)
    trainer.fit(model, datamodule=data)
    trainer.save_checkpoint(tmp_path / "vae.ckpt")
    out = tmp_path / "scores.jsonl"
    main(["evaluate", "--ckpt", str(tmp_path / "vae.ckpt"), "--metrics", "fid,kid,pr,nll", "--n", "32",
          "--nll-k", "5", "--nll-images", "8", "--extractor", "fmnist-classifier", "--out", str(out)])
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line == json.loads(out.read_text())
    assert line["extractor"] == "fmnist-classifier" and line["n_real"] == line["n_generated"] == 32
    assert line["split"] == "test" and line["seed"] == 0 and line["nll_k"] == 5
    for key in ("fid[fmnist-classifier]", "kid[fmnist-classifier]", "precision[fmnist-classifier]", "nll_nats"):
        assert isinstance(line[key], float), key


@needs_fashion_mnist
def test_quality_callback_logs_a_falling_fid_curve(tmp_path):
    from lightning.pytorch.loggers import CSVLogger

    from zoo.callbacks import QualityMetrics

    seed_everything(0)
    data = fashion_mnist(batch_size=64, train_subset=4096, val_size=500)
    callback = QualityMetrics(every_n_batches=30, num_images=500, metrics=("fid",))
    trainer = tiny_trainer(tmp_path, max_epochs=1, callbacks=[callback], logger=CSVLogger(tmp_path))
    trainer.fit(zoo.create("vae", latent_dim=8), datamodule=data)
    fids = [row["val/fid[fmnist-classifier]"] for row in callback.history]
    assert [row["iteration"] for row in callback.history] == [0, 30, 60, 64]
    assert fids[-1] < 0.5 * fids[0], fids
    assert "val/fid[fmnist-classifier]" in (tmp_path / "lightning_logs/version_0/metrics.csv").read_text()
