"""Which precision trains a Fashion-MNIST config fastest without losing quality: ``32`` against ``bf16-mixed``.

For each config, both precisions train the same number of batches from the same seed (``configs/<name>.yaml``
as shipped, nothing else changed). Speed: one over the median wall time of a training batch after the first few
(data loading included; the timer of ``overhead.py``). Quality: FID of 2000 samples against 2000 test images on the
shipped classifier (``fmnist-classifier``) after those batches. The verdict ``bf16-mixed`` needs both a speed-up of at
least
``--min-speedup`` and an FID no worse than ``--fid-tolerance`` (relative) than fp32's; otherwise ``32``.

    python benchmarks/precision.py --configs vae_fashion_mnist,dcgan_fashion_mnist [--batches 300]

Prints one line per config and precision, then one verdict line per config (also written as JSON with --out).
``--apply`` writes the verdict into ``configs/<name>.yaml`` (``trainer.precision``) with a header line that gives
the figures it rests on.
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

import torch
from overhead import IterationTimer  # benchmarks/ is the script's folder

from zoo.cli import ZooCLI
from zoo.metrics.quality import QualityEvaluator, generated_images, real_images

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
NOTE = "# Precision"
PRECISIONS = ("32", "bf16-mixed")


def train(config: str, precision: str, batches: int, root: Path) -> tuple[float, float]:
    """Train ``config`` for ``batches`` batches in ``precision``; return (batches per second, FID)."""
    torch.manual_seed(0)
    cli = ZooCLI(args=[
        "--config", f"{config}.yaml", f"--trainer.precision={precision}", f"--trainer.limit_train_batches={batches}",
        "--trainer.max_epochs=1", "--trainer.max_steps=-1", "--trainer.logger=false", "--trainer.callbacks=[]",
        "--trainer.enable_progress_bar=false", "--trainer.limit_val_batches=0", "--images.every_n_batches=0",
        f"--trainer.default_root_dir={root}", "--checkpoint.save_last=false",
    ], run=False)
    timer = IterationTimer()
    cli.trainer.callbacks.append(timer)
    cli.trainer.fit(cli.model, cli.datamodule)
    real, _ = real_images(cli.datamodule, "test", 2000)
    fid = QualityEvaluator(real, "fmnist-classifier").score(generated_images(cli.model, 2000), ("fid",))
    return 1 / statistics.median(timer.durations), fid["fid[fmnist-classifier]"]


def apply(config: str, result: dict, batches: int) -> None:
    """Set ``trainer.precision`` of ``configs/<config>.yaml`` to the verdict, with a header line saying why."""
    path = CONFIGS / f"{config}.yaml"
    lines = [line for line in path.read_text().splitlines() if not line.startswith(NOTE)
             and not line.startswith("#   after the same")]
    fp32, bf16 = result["32"], result["bf16-mixed"]
    note = [f"{NOTE}: {result['verdict']}. bf16-mixed ran at {result['speedup']:.2f}x the speed of 32 on 2 CPU "
            f"cores, FID {bf16['fid']:.2f} vs {fp32['fid']:.2f}",
            f"#   after the same {batches} batches (benchmarks/precision.py)."]
    at = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    lines[at:at] = note
    at = next(i for i, line in enumerate(lines) if line.startswith("  precision:"))
    lines[at] = f"  precision: {result['verdict']}"
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", required=True, help="comma-separated config names")
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--min-speedup", type=float, default=1.15)
    parser.add_argument("--fid-tolerance", type=float, default=0.15)
    parser.add_argument("--root", default="runs/precision")
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    parser.add_argument("--apply", action="store_true", help="write each verdict into its config file")
    args = parser.parse_args()
    sys.argv[1:] = []  # the configs' own arguments go to ZooCLI as a list
    results = {}
    for config in args.configs.split(","):
        rows = {}
        for precision in PRECISIONS:
            rate, fid = train(config, precision, args.batches, Path(args.root) / config / precision)
            rows[precision] = {"it_per_s": round(rate, 2), "fid": round(fid, 3)}
            print(f"{config:<36} {precision:>10}: {rate:6.2f} it/s  FID {fid:7.3f}", flush=True)
        speedup = rows["bf16-mixed"]["it_per_s"] / rows["32"]["it_per_s"]
        keeps = rows["bf16-mixed"]["fid"] <= rows["32"]["fid"] * (1 + args.fid_tolerance)
        verdict = "bf16-mixed" if speedup >= args.min_speedup and keeps else "32"
        results[config] = {**rows, "speedup": round(speedup, 2), "verdict": verdict}
        print(f"{config:<36} verdict {verdict} (bf16-mixed {speedup:.2f}x, FID "
              f"{rows['bf16-mixed']['fid']:.2f} vs {rows['32']['fid']:.2f})", flush=True)
        if args.apply:
            apply(config, results[config], args.batches)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
