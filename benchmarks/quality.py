"""The results table: every registered model trained with its Fashion-MNIST config for a stated CPU budget, scored
the same way, written to docs/results.md with a sample grid per model.

Metrics: FID, KID, Inception Score and precision/recall on the shipped Fashion-MNIST classifier's features
(``fmnist-classifier``), ``--n`` generated images against ``--n`` test images; NLL by importance sampling (IWAE,
``--nll-k`` samples) for models with a tractable decoder likelihood. For the DCGAN it also compares plain sampling
with Discriminator Rejection Sampling and Discriminator-Driven Latent Sampling, on ``--sampler-n`` images.

    python benchmarks/quality.py --minutes 3                  # train every model, then score
    python benchmarks/quality.py --checkpoints runs/quality   # score existing <model>.ckpt files
    python benchmarks/quality.py --models vae,dcgan --minutes 1
"""

import argparse
import json
import platform
import shutil
import time
from pathlib import Path

import torch
from torchvision.utils import save_image

import zoo
from zoo.checkpoint import load_datamodule
from zoo.cli import ZooCLI, shipped_configs
from zoo.metrics.quality import QualityEvaluator, evaluate, real_images
from zoo.sampling.langevin import ddls_sample
from zoo.sampling.rejection import drs_for_model

REPO = Path(__file__).resolve().parent.parent


def train(name: str, minutes: float, out_dir: Path) -> tuple[Path, float]:
    """Fit ``<name>_fashion_mnist.yaml`` for ``minutes`` of wall time; return the checkpoint and seconds taken."""
    run_dir = out_dir / name
    shutil.rmtree(run_dir, ignore_errors=True)
    start = time.perf_counter()
    ZooCLI(args=[
        "fit", "--config", f"{name}_fashion_mnist.yaml",
        f"--trainer.max_time={json.dumps({'seconds': round(minutes * 60)})}",
        "--trainer.max_epochs=-1", "--trainer.enable_progress_bar=false", "--trainer.logger=false",
        f"--trainer.default_root_dir={run_dir}", "--images.every_n_batches=0",
        "--trainer.callbacks=[]", f"--checkpoint.dirpath={run_dir}", "--checkpoint.filename=last",
    ])
    seconds = time.perf_counter() - start
    checkpoint = out_dir / f"{name}.ckpt"
    shutil.copy(run_dir / "last.ckpt", checkpoint)
    return checkpoint, seconds


def sampler_comparison(model, test: torch.Tensor, n: int) -> dict[str, float]:
    """FID of plain sampling, DRS and DDLS on ``n`` images each (same extractor and real images)."""
    evaluator = QualityEvaluator(test[:n], "fmnist-classifier")
    fid = lambda images: evaluator.score(images, ("fid",))["fid[fmnist-classifier]"]  # noqa: E731
    plain = model.sample(n, seed=0)
    sampler = drs_for_model(model, burn_in=10_000, gamma_quantile=0.8)
    with torch.no_grad():
        drs = (sampler.sample(n, torch.Generator().manual_seed(0)).float() + 1) / 2
    ddls = torch.cat([ddls_sample(model, 250, steps=50, step_size=0.01, seed=i) for i in range(n // 250)])
    return {"plain": fid(plain), "drs": fid(drs), "drs_acceptance": sampler.acceptance_rate, "ddls": fid(ddls)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=3.0, help="training budget per model (wall time)")
    parser.add_argument("--models", default=None, help="comma-separated model names (default: all with a config)")
    parser.add_argument("--checkpoints", default=None, help="score <dir>/<model>.ckpt instead of training")
    parser.add_argument("--out", default="runs/quality", help="where runs and checkpoints go")
    parser.add_argument("--n", type=int, default=10_000, help="generated and real images per metric")
    parser.add_argument("--nll-k", type=int, default=1000)
    parser.add_argument("--nll-images", type=int, default=500)
    parser.add_argument("--sampler-n", type=int, default=2000, help="images per sampler in the DRS/DDLS comparison")
    parser.add_argument("--report", default=str(REPO / "docs" / "results.md"))
    args = parser.parse_args()

    configs = shipped_configs()
    names = args.models.split(",") if args.models else [
        e.name for e in zoo.list_models() if f"{e.name}_fashion_mnist.yaml" in configs]
    out_dir = Path(args.checkpoints or args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    grids = Path(args.report).parent / "results"
    grids.mkdir(parents=True, exist_ok=True)
    rows, samplers = [], None
    for name in names:
        if args.checkpoints:
            checkpoint, seconds = out_dir / f"{name}.ckpt", None
        else:
            checkpoint, seconds = train(name, args.minutes, out_dir)
        model, data = zoo.load(checkpoint), load_datamodule(checkpoint)
        metrics = ("fid", "kid", "is", "pr", "nll")
        result = evaluate(model, data, metrics, args.n, "test", "fmnist-classifier", 0, args.nll_k, args.nll_images)
        result.update(name=name, seconds=seconds)
        rows.append(result)
        print(json.dumps(result), flush=True)
        save_image(model.sample(64, seed=0), grids / f"{name}.png", nrow=8, padding=2, pad_value=1.0)
        if name == "dcgan":
            samplers = sampler_comparison(model, real_images(data, "test", args.sampler_n)[0], args.sampler_n)
            print(json.dumps({"dcgan_samplers": samplers}), flush=True)
    Path(args.report).write_text(report(rows, samplers, args))
    print(f"wrote {args.report}")


def report(rows: list[dict], samplers: dict | None, args) -> str:
    tag = "[fmnist-classifier]"
    lines = [
        "# Results on Fashion-MNIST",
        "",
        f"Written by `python benchmarks/quality.py` ({'scored checkpoints' if args.checkpoints else f'{args.minutes:g} min of training per model'} "
        f"on {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, CPU). Each model uses "
        "its `configs/<model>_fashion_mnist.yaml`. Extractor: the Fashion-MNIST classifier shipped with zoo "
        f"(`fmnist-classifier`, 128-d features). FID, KID, IS, precision and recall from {args.n} generated vs "
        f"{args.n} test images, seed 0; NLL by importance sampling (k = {args.nll_k}) on {args.nll_images} test "
        "images, in nats per image (pixels scored in [0, 1] by each model's own decoder likelihood). These are short "
        "CPU budgets: compare models with each other, not with published numbers.",
        "",
        "| model | iterations | train s | FID | KID | IS | precision | recall | NLL (nats) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        def num(key, scale=1.0, digits=2):
            value = r.get(key)
            return "–" if value is None else f"{value * scale:.{digits}f}"

        seconds = "–" if r.get("seconds") is None else f"{r['seconds']:.0f}"
        lines.append(
            f"| [{r['name']}](results/{r['name']}.png) | {r.get('iteration') or '–'} | {seconds} | {num('fid' + tag)} | "
            f"{num('kid' + tag, 1, 3)} | {num('is' + tag)} | {num('precision' + tag, 1, 3)} | "
            f"{num('recall' + tag, 1, 3)} | {num('nll_nats', 1, 1)} |"
        )
    if samplers:
        verdict = "; ".join(f"{k.upper()} {_compare(samplers[k], samplers['plain'])}" for k in ("drs", "ddls"))
        lines += [
            "",
            "## Does rejection or latent sampling help the DCGAN?",
            "",
            f"FID on {args.sampler_n} images each (same extractor and test images): plain {samplers['plain']:.2f}, "
            f"DRS {samplers['drs']:.2f} (γ = 80th percentile of F, acceptance {samplers['drs_acceptance']:.2f}), "
            f"DDLS {samplers['ddls']:.2f} (50 Langevin steps of size 0.01). At this budget: {verdict}.",
        ]
    return "\n".join(lines) + "\n"


def _compare(value: float, plain: float, margin: float = 0.02) -> str:
    """Call a change an improvement only beyond ``margin`` (relative): smaller FID differences are sampling noise."""
    if value < plain * (1 - margin):
        return f"improved the FID over plain sampling ({value:.2f} vs {plain:.2f})"
    if value > plain * (1 + margin):
        return f"made the FID worse than plain sampling ({value:.2f} vs {plain:.2f})"
    return f"made no clear difference (within {margin:.0%} of plain sampling's {plain:.2f})"


if __name__ == "__main__":
    main()
