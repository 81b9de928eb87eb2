"""Sample quality of the adversarial family after a fixed CPU budget on Fashion-MNIST.

Each model is built from its shipped ``configs/<model>_fashion_mnist.yaml`` (nets, optimisers, precision, batch
size) and trained for ``--budget`` seconds of wall-clock time (Lightning's ``max_time``), then scored on
``--samples`` samples (fixed seed):

* ``classes``: classes of the shipped Fashion-MNIST classifier that receive >= 2 % of the samples (10 = every mode);
  ``untrained`` is the same count for the model before training;
* ``fid``: FID on the classifier's 128-d features against as many test images, through :func:`fid_hook` (printed
  ``n/a`` when ``zoo.metrics`` offers no FID).

Iterations are training batches; ``opt steps`` are optimiser steps (D and G; n_critic models step G every k-th
batch). Numbers on a shared machine move with its load: the ``cpu s`` column says how much CPU the run got.

    python benchmarks/adversarial_quality.py [--budget 180] [--models wgan wgangp ...] [--samples 2000] [--threads N]
"""

import argparse
import resource
import time
from pathlib import Path

import lightning as L
import torch
import yaml

import zoo
from datamodules import FashionMNISTDataModule
from zoo.metrics.classifier import classes_covered, load_classifier

MODELS = ["wgan", "wgangp", "fgan", "cramergan", "ebgan", "began"]
CONFIGS = Path(__file__).resolve().parent.parent / "configs"


class TrainingClock(L.Callback):
    """Wall-clock seconds from the first training batch to the end of fit (data loading and setup excluded)."""

    def __init__(self) -> None:
        self.start = self.seconds = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self.start is None:
            self.start = time.perf_counter()

    def on_train_end(self, trainer, pl_module) -> None:
        self.seconds = time.perf_counter() - self.start


def fid_hook(model, datamodule, n: int) -> float | None:
    """FID of ``n`` samples against ``n`` test images on the Fashion-MNIST classifier's features, from
    ``zoo.metrics.quality`` when it is available; None (printed ``n/a``) otherwise. Nothing is estimated here."""
    try:
        from zoo.metrics.quality import evaluate
    except ImportError:
        return None
    result = evaluate(model, datamodule, metrics=("fid",), n=n, extractor="fmnist-classifier")
    return next((v for k, v in result.items() if k.startswith("fid")), None)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(name: str, budget: float, samples: int, data_dir: str) -> dict:
    config = yaml.safe_load((CONFIGS / f"{name}_fashion_mnist.yaml").read_text())
    L.seed_everything(config.get("seed_everything", 0), verbose=False)
    data = FashionMNISTDataModule(data_dir=data_dir, **config["data"].get("init_args", {}))
    init_args = dict(config["model"]["init_args"], image_shape=(1, 28, 28))
    model = zoo.create(config["model"]["class_path"], **init_args)
    classifier = load_classifier("fashion_mnist")
    untrained = classes_covered(model.sample(samples, seed=0) * 2 - 1, classifier)
    clock = TrainingClock()
    trainer = L.Trainer(
        accelerator="cpu", devices=1, max_time={"seconds": budget}, max_epochs=-1,
        precision=config["trainer"].get("precision", 32), logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0, callbacks=[clock],
    )
    cpu = cpu_seconds()
    trainer.fit(model, datamodule=data)
    cpu = cpu_seconds() - cpu
    finite = all(torch.isfinite(p).all() for p in model.parameters())
    images = model.sample(samples, seed=0) * 2 - 1
    return {
        "model": name, "iterations": model.iteration, "opt_steps": trainer.global_step,
        "it_per_s": model.iteration / clock.seconds, "cpu_s": cpu, "finite": finite, "untrained": untrained,
        "classes": classes_covered(images, classifier), "fid": fid_hook(model, data, samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=180.0, help="training seconds per model")
    parser.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    parser.add_argument("--samples", type=int, default=2000, help="samples scored per model")
    parser.add_argument("--data-dir", default="data", help="where Fashion-MNIST is (or is decompressed to)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, budget {args.budget:.0f} s per model, "
          f"{args.samples} samples; classes = Fashion-MNIST classes with >= 2% of the samples", flush=True)
    header = f"{'model':<10} {'iterations':>10} {'opt steps':>9} {'it/s':>6} {'cpu s':>6} {'finite':>6} " \
             f"{'untrained':>9} {'classes':>7} {'fid':>8}"
    rows = []
    for name in args.models:
        r = run(name, args.budget, args.samples, args.data_dir)
        fid = "n/a" if r["fid"] is None else f"{r['fid']:.2f}"
        rows.append(f"{r['model']:<10} {r['iterations']:>10} {r['opt_steps']:>9} {r['it_per_s']:>6.1f} "
                    f"{r['cpu_s']:>6.0f} {str(r['finite']):>6} {r['untrained']:>9} {r['classes']:>7} {fid:>8}")
        print(rows[-1], flush=True)
    print("\n" + header + "\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
