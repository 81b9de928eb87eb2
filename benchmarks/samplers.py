"""Do Discriminator Rejection Sampling and Discriminator-Driven Latent Sampling help the published checkpoints?

For every published Fashion-MNIST checkpoint whose model admits them (``zoo.sampling.modes.applicable_modes``):
FID of ``--n`` images from plain sampling, from DRS (Azadi et al. 2019: calibrated on ``--n`` held-out validation
images first, gamma at the 80th percentile of F) and from DDLS (Che et al. 2020: zoo's default chain, with its
settledness diagnostic), each against the same ``--n`` test images on the shipped classifier, repeated over
``--seeds`` seeds so that a difference can be read against the spread. Results go to ``docs/sampler_results.json``;
``python benchmarks/quality.py --published`` (or ``--report-only``) puts them into ``docs/results.md``.

    python benchmarks/samplers.py [--n 1000] [--seeds 3] [--names gan_fashion_mnist,wgan_fashion_mnist]
"""

import argparse
import json
import statistics
from pathlib import Path

import torch

import zoo
from zoo.checkpoint import load_datamodule
from zoo.metrics.quality import QualityEvaluator, generated_images, real_images
from zoo.pretrained import PretrainedError, get, list_pretrained, pull
from zoo.sampling.langevin import STEP_SIZE, STEPS, ddls
from zoo.sampling.modes import applicable_modes
from zoo.sampling.rejection import drs_for_model

REPO = Path(__file__).resolve().parent.parent
STORE = REPO / "docs" / "sampler_results.json"


def compare(name: str, n: int, seeds: int) -> dict:
    """FIDs (one per seed) of plain sampling and of each sampler the model admits."""
    checkpoint = pull(name)
    model, data = zoo.load(checkpoint), load_datamodule(checkpoint)
    modes = applicable_modes(model)
    evaluator = QualityEvaluator(real_images(data, "test", n)[0], "fmnist-classifier")
    held_out = real_images(data, "val", n)[0]
    fid = lambda images: evaluator.score(images, ("fid",))["fid[fmnist-classifier]"]  # noqa: E731
    row = {"sha256": get(name).sha256, "n": n, "plain": [], "drs": [],
           "drs_acceptance": [], "ddls": [], "ddls_settled": []}
    for seed in range(seeds):
        row["plain"].append(fid(generated_images(model, n, seed=1000 * seed)))
        if "drs" in modes:
            sampler = drs_for_model(model, burn_in=10_000, gamma_quantile=0.8, held_out=held_out)
            with torch.no_grad():
                images = (sampler.sample(n, torch.Generator().manual_seed(seed)).float() + 1) / 2
            row["drs"].append(fid(images))
            row["drs_acceptance"].append(sampler.acceptance_rate)
        if "ddls" in modes:
            images, run = ddls(model, n, seed=seed)
            row["ddls"].append(fid(images))
            row["ddls_settled"].append(run.settled)
    return {k: v for k, v in row.items() if v != []}


def section(rows: dict[str, dict]) -> list[str]:
    """The report's sampler section (Markdown lines) from stored rows."""
    if not rows:
        return []

    def spread(values: list[float]) -> str:
        return "–" if not values else f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}" if len(
            values) > 1 else f"{values[0]:.2f}"

    n, seeds = next(iter(rows.values()))["n"], len(next(iter(rows.values()))["plain"])
    lines = [
        "## Do DRS and DDLS help the trained zoo?",
        "",
        f"Written by `python benchmarks/samplers.py`. FID of {n} images against {n} test images (shipped classifier), "
        f"mean ± standard deviation over {seeds} seeds, for every published checkpoint whose discriminator admits "
        "the sampler. DRS: calibrated on held-out validation images first, gamma at the 80th percentile of F. DDLS: "
        f"{STEPS} Langevin steps of size {STEP_SIZE} in z (zoo's defaults). A sampler helps only where its mean "
        "FID is lower than plain sampling's by more than the spreads.",
        "",
        "| model | plain | DRS | DRS acceptance | DDLS | DDLS chains settled | verdict |",
        "| --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    current = {name: r for name, r in rows.items() if _published_sha256(name) == r["sha256"]}
    for name in sorted(current):
        r = current[name]
        verdicts = [f"{mode.upper()} {_verdict(r[mode], r['plain'])}" for mode in ("drs", "ddls") if r.get(mode)]
        acceptance = f"{statistics.mean(r['drs_acceptance']):.2f}" if r.get("drs_acceptance") else "–"
        settled = f"{sum(r['ddls_settled'])} of {len(r['ddls_settled'])}" if r.get("ddls_settled") else "–"
        lines.append(f"| {name} | {spread(r['plain'])} | {spread(r.get('drs', []))} | {acceptance} | "
                     f"{spread(r.get('ddls', []))} | {settled} | {'; '.join(verdicts)} |")
    for mode in ("drs", "ddls"):
        verdicts = {name: _verdict(r[mode], r["plain"]) for name, r in sorted(current.items()) if r.get(mode)}
        if verdicts:
            lines += ["", f"{mode.upper()}: " + "; ".join(
                f"{verdict} on {', '.join(f'`{n}`' for n in verdicts if verdicts[n] == verdict)}"
                for verdict in ("better", "worse", "no clear difference") if verdict in verdicts.values())
                + f" (of {len(verdicts)} measured)."]
    return lines + pending_lines(set(admitting()) - set(current), "samplers.py")


def pending_lines(pending: set[str], script: str) -> list[str]:
    """The line naming the published checkpoints a benchmark has not measured yet, and the command that adds them."""
    if not pending:
        return []
    names = sorted(pending)
    return ["", "Not measured yet (published after the last run, or retrained since): "
            + ", ".join(f"`{name}`" for name in names)
            + f"; `python benchmarks/{script} --names {','.join(names)}` adds them."]


def admitting() -> list[str]:
    """The published Fashion-MNIST checkpoints whose model admits DRS or DDLS."""
    return [e.name for e in list_pretrained() if e.dataset == "Fashion-MNIST"
            and {"drs", "ddls"} & set(applicable_modes(zoo.load(pull(e.name))))]


def _published_sha256(name: str) -> str | None:
    try:
        return get(name).sha256
    except PretrainedError:  # withdrawn since it was measured
        return None


def _verdict(values: list[float], plain: list[float]) -> str:
    """Better or worse only when the means differ by more than the two spreads together."""
    noise = (statistics.stdev(values) if len(values) > 1 else 0) + (statistics.stdev(plain) if len(plain) > 1 else 0)
    difference = statistics.mean(values) - statistics.mean(plain)
    if abs(difference) <= noise:
        return "no clear difference"
    return "better" if difference < 0 else "worse"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="images per sampler and seed")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--names", default=None, help="comma-separated published names (default: all that admit one)")
    parser.add_argument("--store", default=str(STORE), help="the JSON file of results (read, updated, written)")
    args = parser.parse_args()
    store = Path(args.store)
    rows = json.loads(store.read_text()) if store.exists() else {}
    for name in args.names.split(",") if args.names else admitting():
        if name not in admitting():
            raise SystemExit(f"{name}: not a published checkpoint that admits DRS or DDLS (those: {admitting()})")
        torch.manual_seed(0)
        rows[name] = compare(name, args.n, args.seeds)
        print(name, json.dumps(rows[name]), flush=True)
        store.write_text(json.dumps(rows, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
