"""Train every model of the autoencoding/hybrid family with its Fashion-MNIST config for a fixed CPU budget; print a
table of speed, reconstruction, class coverage, likelihood and FID.

    python benchmarks/autoencoding_quality.py --budget 180            # 3 minutes of training per model
    python benchmarks/autoencoding_quality.py --budget 30 --models ae wae_mmd

How each number is made (stated again under the table):

* iterations, steps/s: training batches (one pass through the model's updates) done within ``--budget`` seconds of
  ``trainer.fit`` wall time, on ``--threads`` CPU threads, with the config's nets, optimisers and batch size.
* recon MSE: mean squared error per pixel, in [0, 1] units, of ``reconstruct(x)`` on the first ``--n-test`` test
  images (eval mode). Every model's own training loss differs; this one compares them.
* classes: how many of the 10 classes receive at least 2% of ``--n-samples`` samples, by zoo's shipped
  Fashion-MNIST classifier (``zoo.metrics.classes_covered``).
* test -ELBO: the negative ELBO in nats per image on the same test images, for models with an ELBO (VAE, Gumbel-VAE:
  exact with one posterior draw; AVB: with its adversary's KL estimate, marked ``~``).
* FID: Fréchet distance between ``--n-samples`` samples and as many test images in the 128-d features of the
  shipped classifier (``fmnist-classifier``), not Inception: comparable only within this table.
"""

import argparse
import sys
import time
from pathlib import Path

import torch
import yaml
from lightning import Trainer, seed_everything
from torch import Tensor

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import zoo  # noqa: E402
from datamodules import FashionMNISTDataModule  # noqa: E402
from zoo.losses_latent import pixel_mse  # noqa: E402
from zoo.metrics import classes_covered, load_classifier  # noqa: E402
from zoo.metrics.quality import QualityEvaluator, generated_images, real_images  # noqa: E402

MODELS = {  # table row -> config (configs/<name>.yaml)
    "ae": "ae_fashion_mnist",
    "dae": "dae_fashion_mnist",
    "vae (2-D)": "vae_latent2_fashion_mnist",
    "vae (5-D)": "vae_latent5_fashion_mnist",
    "vae (10-D)": "vae_latent10_fashion_mnist",
    "vae (20-D)": "vae_latent20_fashion_mnist",
    "gumbel_vae": "gumbel_vae_fashion_mnist",
    "aae": "aae_fashion_mnist",
    "wae_mmd": "wae_mmd_fashion_mnist",
    "wae_gan": "wae_gan_fashion_mnist",
    "avb": "avb_fashion_mnist",
    "vaegan": "vaegan_fashion_mnist",
    "bigan": "bigan_fashion_mnist",
    "ali": "ali_fashion_mnist",
    "alpha_gan": "alpha_gan_fashion_mnist",
    "veegan": "veegan_fashion_mnist",
}


def fid_score(evaluator: QualityEvaluator, samples: Tensor) -> float:
    """The FID hook: zoo.metrics' Fréchet distance on the evaluator's extractor."""
    return evaluator.score(samples, ("fid",))[f"fid[{evaluator.name}]"]


def build(config_name: str, data_dir: str):
    config = yaml.safe_load((REPO / "configs" / f"{config_name}.yaml").read_text())
    model_cfg, data_cfg = config["model"], config["data"]
    data = FashionMNISTDataModule(data_dir=data_dir, **data_cfg.get("init_args", {}))
    model = zoo.create(model_cfg["class_path"], image_shape=data.image_shape, **model_cfg.get("init_args", {}))
    return model, data


@torch.no_grad()
def test_nelbo(model, images: Tensor, batch_size: int = 500) -> float | None:
    if not hasattr(model, "elbo_terms"):
        return None
    model.eval()
    total = sum(model.elbo_terms(chunk)["nelbo"].item() * len(chunk) for chunk in images.split(batch_size))
    return total / len(images)


def run(name: str, config_name: str, args, classifier, evaluator, test_images) -> dict:
    seed_everything(0, verbose=False)
    model, data = build(config_name, args.data_dir)
    trainer = Trainer(
        accelerator="cpu", devices=1, max_epochs=-1, max_time={"seconds": args.budget}, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
        num_sanity_val_steps=0, default_root_dir=str(args.work_dir / name.split()[0]),
    )
    start = time.perf_counter()
    trainer.fit(model, datamodule=data)
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        recon = torch.stack([pixel_mse(model.reconstruct(c), c) for c in test_images.split(500)]).mean().item()
    samples = generated_images(model, args.n_samples, seed=0)  # [0, 1]
    nelbo = test_nelbo(model, test_images)
    return {
        "model": name,
        "iterations": model.iteration,
        "steps/s": model.iteration / seconds,
        "recon MSE": recon,
        "classes": classes_covered(samples * 2 - 1, classifier),
        "test -ELBO": None if nelbo is None else ("~" if name == "avb" else "") + f"{nelbo:.1f}",
        "FID": fid_score(evaluator, samples),
    }


def table(rows: list[dict]) -> str:
    header = ["model", "iterations", "steps/s", "recon MSE", "classes", "test -ELBO", "FID"]
    formats = {"steps/s": "{:.1f}", "recon MSE": "{:.4f}", "FID": "{:.1f}"}
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [formats.get(k, "{}").format(row[k]) if row[k] is not None else "–" for k in header]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=180.0, help="training seconds per model (default 180)")
    parser.add_argument("--models", nargs="*", default=list(MODELS), help=f"rows to run, of: {', '.join(MODELS)}")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--n-samples", type=int, default=1000, help="samples for class coverage and FID")
    parser.add_argument("--n-test", type=int, default=2000, help="test images for reconstruction and ELBO")
    parser.add_argument("--data-dir", default=str(REPO / "data"))
    parser.add_argument("--work-dir", type=Path, default=REPO / "runs" / "benchmark_autoencoding")
    args = parser.parse_args()
    unknown = set(args.models) - set(MODELS)
    if unknown:
        parser.error(f"unknown models {sorted(unknown)}; choose from {list(MODELS)}")
    torch.set_num_threads(args.threads)

    reference = FashionMNISTDataModule(data_dir=args.data_dir, batch_size=500)
    test_01, _ = real_images(reference, "test", max(args.n_test, args.n_samples))
    test_images = test_01[: args.n_test] * 2 - 1
    classifier = load_classifier("fashion_mnist")
    evaluator = QualityEvaluator(test_01[: args.n_samples], "fmnist-classifier")

    rows = []
    for name in args.models:
        rows.append(run(name, MODELS[name], args, classifier, evaluator, test_images))
        print(f"done {name}: {rows[-1]}", file=sys.stderr, flush=True)
    print(f"Fashion-MNIST, {args.budget:.0f} s of training per model on {args.threads} CPU thread(s), "
          f"torch {torch.__version__}\n")
    print(table(rows))
    print(f"\nrecon MSE: per pixel in [0, 1] units on {args.n_test} test images. classes: of 10 with >= 2% of "
          f"{args.n_samples} samples (shipped classifier). test -ELBO: nats/image on the same test images (~: AVB's "
          f"adversarial KL estimate). FID: {args.n_samples} samples vs {args.n_samples} test images in the "
          "fmnist-classifier features (not Inception).")


if __name__ == "__main__":
    main()
