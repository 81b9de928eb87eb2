"""Kill a DCGAN run with ``kill -9`` at K random moments, resume it each time with ``--ckpt_path last``, and compare the
end with an uninterrupted run.

Prints how many kills were resumed, the iterations each kill lost (the iteration the killed process had logged minus
the iteration of the checkpoint it was resumed from; median and max) against the checkpoint interval, and whether the
final parameters equal the uninterrupted run's bit for bit.

    python benchmarks/faults.py [--kills 5] [--interval-minutes 0.1] [--epochs 12] [--train-subset 3200]

The run is the shipped ``dcgan_small_fashion_mnist.yaml`` (its quality callback included) on the first
``--train-subset`` Fashion-MNIST images, logging every iteration so the iteration reached at a kill is known.
"""

import argparse
import csv
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import zoo  # noqa: E402
from tests.faults import finish, kill_group, last_checkpoints, same_weights, start, wait_for  # noqa: E402

CONFIG = "dcgan_small_fashion_mnist.yaml"


def arguments(folder: Path, epochs: int, subset: int, interval: float) -> list[str]:
    return ["fit", "--config", CONFIG, f"--trainer.default_root_dir={folder}", f"--trainer.max_epochs={epochs}",
            f"--data.init_args.train_subset={subset}", "--trainer.log_every_n_steps=1",
            "--trainer.logger.init_args.flush_logs_every_n_steps=1", f"--checkpoint.every_minutes={interval}",
            "--trainer.enable_progress_bar=false"]


def logged_iteration(run_folder: Path) -> int:
    """The last training step the killed run wrote to its metrics.csv (the logger's step counts batches)."""
    with open(run_folder / "metrics.csv") as handle:
        steps = [int(row["step"]) for row in csv.DictReader(handle) if row.get("step") and row.get("train/d/loss")]
    return max(steps) + 1 if steps else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--interval-minutes", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--train-subset", type=int, default=3200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.kills < 1 or args.interval_minutes <= 0 or args.epochs < 1 or args.train_subset < 64:
        parser.error("--kills and --epochs must be positive, --interval-minutes > 0, --train-subset >= 64")
    pick = random.Random(args.seed)

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        started = time.monotonic()
        status, output = finish(start(arguments(scratch / "straight", args.epochs, args.train_subset,
                                                args.interval_minutes), scratch), timeout=3600)
        if status:
            sys.exit(f"the uninterrupted run failed:\n{output[-3000:]}")
        straight = last_checkpoints(scratch / "straight")[-1]
        total, seconds = zoo.load(straight).iteration, time.monotonic() - started
        print(f"uninterrupted: {total} iterations in {seconds:.0f} s (start-up included)")

        folder, lost, resumed = scratch / "killed", [], 0
        command = arguments(folder, args.epochs, args.train_subset, args.interval_minutes)
        for kill in range(args.kills):
            process = start(command + (["--ckpt_path", "last"] if kill else []), scratch)
            if kill:
                resumed += 1
            before = {p.parent.parent for p in last_checkpoints(folder)}
            wait_for(lambda: [p for p in last_checkpoints(folder) if p.parent.parent not in before], process,
                     timeout=600)  # this run has written its first checkpoint
            time.sleep(pick.uniform(0, 2 * 60 * args.interval_minutes))
            if process.poll() is not None:
                print(f"kill {kill + 1}: the run had already finished")
                break
            kill_group(process, signal.SIGKILL)
            process.communicate()
            run_folder = max((folder / "dcgan_small_fashion_mnist").iterdir(), key=lambda p: p.stat().st_mtime)
            reached = logged_iteration(run_folder)
            saved = zoo.load(last_checkpoints(folder)[-1]).iteration
            lost.append(reached - saved)
            print(f"kill {kill + 1}: at iteration {reached}, last checkpoint at {saved}: {reached - saved} lost")
        status, output = finish(start(command + ["--ckpt_path", "last"], scratch), timeout=3600)
        resumed += status == 0
        final = last_checkpoints(folder)[-1]
        print(f"\nkills: {len(lost)}, resumed: {resumed} (the last resume ran to the end: {status == 0})")
        if lost:
            rate = total / seconds
            print(f"iterations lost per kill: median {statistics.median(lost):.0f}, max {max(lost)} "
                  f"(interval {60 * args.interval_minutes:.0f} s, about {rate * 60 * args.interval_minutes:.0f} "
                  "iterations at the measured rate)")
        print(f"final iteration {zoo.load(final).iteration} of {total}; parameters equal to the uninterrupted "
              f"run's: {same_weights(final, straight)}")


if __name__ == "__main__":
    main()
