"""Train a shipped config with its own settings until it has converged, and publish it into the package.

One config at a time (run two of these side by side with ``OMP_NUM_THREADS=1`` on a 2-core machine)::

    python benchmarks/release.py --configs vae_latent2_fashion_mnist,wae_gan_fashion_mnist
    python benchmarks/release.py --configs vae_fashion_mnist --publish-only   # the finished runs under --root
    python benchmarks/release.py --refresh-cards   # rewrite the shipped cards from their index entries

For each ``configs/<name>.yaml``:

1. ``zoo fit --config <name>.yaml --trainer.default_root_dir <root>``, exactly as a user runs it;
2. the run's own FID curve (every ``metrics.csv`` of the run) is judged by :mod:`zoo.metrics.convergence`: still
   improving, converged, peaked or too short. While it is improving or too short, the config's
   ``trainer.max_epochs`` grows by half (with a header line saying why) and the run continues from its last checkpoint
   (``--ckpt_path last``: the same training as a fresh run of the longer config, resumed bit for bit), at most
   ``--extensions`` times;
3. ``zoo publish`` writes the float16 checkpoint of the run's **best** weights (``best.ckpt``: its lowest logged
   FID), card, sample grid and run config into ``zoo/pretrained`` and adds the entry (wall time, published
   iteration and verdict included) to ``zoo/pretrained/index.json``. A run whose training is not over (improving or
   too short) is published only with ``--publish-unconverged`` (its card then says so).
"""

import argparse
import fcntl
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import torch

from zoo.metrics.convergence import logs_convergence

REPO = Path(__file__).resolve().parent.parent
PRETRAINED = REPO / "zoo" / "pretrained"
CONFIGS = REPO / "configs"
EXTENDED = "# max_epochs"  # the header line of a config whose run was extended


def versions(root: Path, name: str) -> list[Path]:
    """The version folders of ``name``'s runs under ``root``, oldest first."""
    return sorted((root / name).glob("version_*"), key=lambda p: int(p.name.split("_")[-1]))


def logs(root: Path, name: str) -> list[Path]:
    return [v / "metrics.csv" for v in versions(root, name) if (v / "metrics.csv").is_file()]


def fit(name: str, root: Path, resume: bool = False) -> None:
    # The config file this script lengthens, not the installed package's copy of it (another checkout's, if the
    # package is installed in editable mode from there).
    command = ["zoo", "fit", "--config", str(CONFIGS / f"{name}.yaml"), f"--trainer.default_root_dir={root}",
               "--trainer.enable_progress_bar=false", *(["--ckpt_path", "last"] if resume else [])]
    subprocess.run(command, check=True, env={**os.environ, "WANDB_MODE": "offline"})


def extend(name: str, why: str) -> int:
    """Lengthen ``trainer.max_epochs`` of ``configs/<name>.yaml`` by half and say why in its header; returns the new
    value."""
    path = CONFIGS / f"{name}.yaml"
    text = path.read_text()
    epochs = int(re.search(r"^  max_epochs: (\d+)$", text, re.M).group(1))
    lines = [line for line in text.splitlines() if not line.startswith(EXTENDED)]
    at = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    longer = math.ceil(epochs * 1.5)
    lines.insert(at, f"{EXTENDED} {longer}: at {epochs} epochs the run was {why}.")
    text = "\n".join(lines) + "\n"
    path.write_text(re.sub(r"^  max_epochs: \d+$", f"  max_epochs: {longer}", text, count=1, flags=re.M))
    return longer


def publish(name: str, root: Path, description: str) -> None:
    run = versions(root, name)[-1]
    command = ["zoo", "publish", "--ckpt", str(run / "checkpoints" / "last.ckpt"), "--name", name,
               "--which", "best", "--out", str(PRETRAINED), "--index", str(PRETRAINED / "index.json"), "--config", f"{name}.yaml",
               "--weights-dtype", "float16", "--metrics", "fid,kid,is,pr,diversity,classes", "--n", "2000",
               "--description", description, *[f"--curve={log}" for log in logs(root, name)],
               *([f"--note={note}"] if (note := current_note(name)) else [])]
    with open(PRETRAINED / ".publish.lock", "w") as lock:  # releases run side by side share index.json
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run(command, check=True)
    (PRETRAINED / f"{name}.entry.json").unlink(missing_ok=True)  # the index holds it


def current_note(name: str) -> str:
    """The note of ``name``'s published entry (e.g. what was tried for its mode coverage), kept by a republish."""
    import json

    entry = json.loads((PRETRAINED / "index.json").read_text())["checkpoints"].get(name, {})
    return entry.get("note", "")


def describe(name: str, root: Path) -> str:
    import yaml

    config = yaml.safe_load((versions(root, name)[-1] / "config.yaml").read_text())
    trainer = config.get("trainer") or {}
    model = config["model"]["class_path"].rsplit(".", 1)[-1]
    length = (f"{trainer['max_epochs']} epochs" if trainer.get("max_epochs", -1) not in (None, -1)
              else f"max_steps {trainer.get('max_steps')}")
    threads = torch.get_num_threads()
    return (f"The {model} of {name}.yaml: zoo fit --config {name}.yaml, {length} on {threads} CPU "
            f"thread{'s' if threads > 1 else ''} (precision {trainer.get('precision')}); weights stored as float16.")


def refresh_cards() -> None:
    import json

    from zoo.commands.publish import model_card

    for name, entry in json.loads((PRETRAINED / "index.json").read_text())["checkpoints"].items():
        if entry.get("file") and entry.get("card"):
            (PRETRAINED / entry["card"]).write_text(model_card(name, entry))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", default="", help="comma-separated config names (without .yaml)")
    parser.add_argument("--refresh-cards", action="store_true",
                        help="rewrite every shipped card from its index entry (after editing a description or note)")
    parser.add_argument("--root", default="runs/zoo", help="where the training runs go")
    parser.add_argument("--extensions", type=int, default=3, help="how often a run may be lengthened by half")
    parser.add_argument("--publish-only", action="store_true", help="publish the runs under --root, train none")
    parser.add_argument("--resume", action="store_true",
                        help="continue the runs already under --root (an interrupted one to its config's budget, "
                             "then while needed) instead of starting anew")
    parser.add_argument("--publish-unconverged", action="store_true",
                        help="publish a run whose curve is still improving or too short (its card says so)")
    args = parser.parse_args()
    if args.refresh_cards:
        return refresh_cards()
    root = Path(args.root)
    failed = []
    for name in args.configs.split(","):
        if not args.publish_only:
            fit(name, root, resume=args.resume)  # a resumed run first finishes its config's budget
            for _ in range(args.extensions):
                verdict = logs_convergence(logs(root, name))
                if verdict is not None and verdict.publishable:
                    break
                epochs = extend(name, verdict.explain() if verdict else "no FID curve logged")
                print(f"{name}: not converged, continuing to {epochs} epochs", flush=True)
                fit(name, root, resume=True)
        verdict = logs_convergence(logs(root, name))
        print(f"{name}: " + (verdict.explain() if verdict else "no FID curve logged"), flush=True)
        if (verdict is None or not verdict.publishable) and not args.publish_unconverged:
            failed.append(name)
            continue
        publish(name, root, describe(name, root))
    if failed:
        sys.exit(f"training not over (not published): {', '.join(failed)}; train longer, or --publish-unconverged")


if __name__ == "__main__":
    main()
