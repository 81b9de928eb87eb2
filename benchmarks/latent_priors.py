"""Do priors fitted to the codes after training give better samples than a model's own prior?

For every published Fashion-MNIST checkpoint whose model has a deterministic code of an image
(:func:`zoo.sampling.latent_priors.models_with_latent_code`: AE, DAE, VAE, AAE, WAE, ...): the codes of its training
split (``zoo fit-prior``'s own functions; ``--images`` caps them), then FID of ``--n`` images from

* plain: the model's own prior (``model.sample``),
* gmm: a mixture of ``--components`` full-covariance Gaussians fitted to the codes (Ghosh et al. 2020),
* two-stage: a second VAE on the codes (Dai & Wipf 2019; ``--epochs`` of zoo's default second stage),

each against the same ``--n`` test images on the shipped classifier (``fmnist-classifier``, the FID of
``benchmarks/quality.py`` and ``docs/results.md``), repeated over ``--seeds`` seeds (seed s fits the priors and draws
the samples), so that a difference can be read against the spread. Results go to
``docs/latent_prior_results.json``; ``python benchmarks/quality.py --published`` (or ``--report-only``) puts them
into ``docs/results.md``, and this script prints the same table.

    python benchmarks/latent_priors.py [--n 10000] [--seeds 3] [--names ae_fashion_mnist,vae_fashion_mnist]
"""

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

import zoo
from zoo.checkpoint import load_datamodule
from zoo.commands.fit_prior import encode, training_images
from zoo.metrics.quality import QualityEvaluator, generated_images, real_images
from zoo.pretrained import get, list_pretrained, pull
from zoo.registry import get_model
from zoo.sampling.latent_priors import GMM_COMPONENTS, KINDS, PLAIN, TWO_STAGE, fit_prior

from samplers import _published_sha256, _verdict, pending_lines  # benchmarks/ is the script's folder: one verdict rule for both

REPO = Path(__file__).resolve().parent.parent
STORE = REPO / "docs" / "latent_prior_results.json"
EXTRACTOR = "fmnist-classifier"


def compare(name: str, n: int, seeds: int, images: int | None, components: int, epochs: int) -> dict:
    """FIDs (one per seed) of plain sampling and of each fitted prior, with how the priors were fitted."""
    checkpoint = pull(name)
    model, data = zoo.load(checkpoint), load_datamodule(checkpoint)
    evaluator = QualityEvaluator(real_images(data, "test", n)[0], EXTRACTOR)
    fid = lambda fake: evaluator.score(fake, ("fid",))[f"fid[{EXTRACTOR}]"]  # noqa: E731
    row = {"sha256": get(name).sha256, "n": n, "latent_dim": model.latent_dim, "components": components,
           "epochs": epochs, PLAIN: [], **{kind: [] for kind in KINDS}, "fit_seconds": {kind: [] for kind in KINDS}}
    codes = None
    for seed in range(seeds):
        if codes is None or images is not None:  # a seeded subset per seed; all of them once
            codes = encode(model, training_images(data, images, seed, real_images))
        row["images"] = len(codes)
        row[PLAIN].append(fid(generated_images(model, n, seed=1000 * seed)))
        for kind in KINDS:
            options = {"components": components} if kind == "gmm" else {"epochs": epochs}
            start = time.perf_counter()
            model.latent_priors[kind] = fit_prior(kind, codes, seed, **options)
            row["fit_seconds"][kind].append(round(time.perf_counter() - start, 1))
            row[kind].append(fid(generated_images(model, n, seed=1000 * seed, prior=kind)))
    return row


def section(rows: dict[str, dict]) -> list[str]:
    """The report's latent-prior section (Markdown lines) from stored rows."""
    current = {name: r for name, r in rows.items() if _published_sha256(name) == r["sha256"]}
    if not current:
        return []
    first = next(iter(current.values()))
    seeds = len(first[PLAIN])
    lines = [
        "## Do priors fitted to the codes help? (ex-post density estimation)",
        "",
        f"Written by `python benchmarks/latent_priors.py`. FID of {first['n']} images against {first['n']} test "
        f"images (shipped classifier), mean ± standard deviation over {seeds} seeds, for every published checkpoint "
        "with a deterministic code of an image. plain: the model's own prior (the AE's and DAE's is a Gaussian fit "
        f"of their codes). gmm: {first['components']} full-covariance Gaussians fitted by EM to the codes of "
        f"{first['images']} training images (Ghosh et al. 2020). two-stage: a second VAE on the same codes "
        f"(Dai & Wipf 2019; {TWO_STAGE['depth']} hidden layers of {TWO_STAGE['hidden']}, {first['epochs']} epochs). "
        "Seed s fits both priors and draws the samples. A prior helps only where its mean FID is lower than plain "
        "sampling's by more than the spreads. `zoo fit-prior --ckpt NAME --kind gmm --out NEW.ckpt` fits one, "
        "`zoo sample --ckpt NEW.ckpt --prior gmm` samples it.",
        "",
        "| model | latent dim | plain | gmm | two-stage | verdict |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name in sorted(current):
        r = current[name]
        verdicts = "; ".join(f"{kind} {_verdict(r[kind], r[PLAIN])}" for kind in KINDS if r.get(kind))
        lines.append(f"| {name} | {r['latent_dim']} | {_spread(r[PLAIN])} | {_spread(r.get('gmm', []))} | "
                     f"{_spread(r.get('two-stage', []))} | {verdicts} |")
    return lines + pending_lines(set(encoder_checkpoints()) - set(current), "latent_priors.py")


def encoder_checkpoints() -> list[str]:
    """The published Fashion-MNIST checkpoints whose model has a code to fit a prior to."""
    return [e.name for e in list_pretrained()
            if e.dataset == "Fashion-MNIST" and get_model(e.model).cls.latent_code_obstacle() is None]


def _spread(values: list[float]) -> str:
    if not values:
        return "–"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}" if len(values) > 1 else f"{values[0]:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="generated and test images per FID")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--names", default=None,
                        help="comma-separated published names (default: every Fashion-MNIST one with a code)")
    parser.add_argument("--images", type=int, default=None, help="training images encoded (default: all)")
    parser.add_argument("--components", type=int, default=GMM_COMPONENTS, help="gmm: mixture components")
    parser.add_argument("--epochs", type=int, default=TWO_STAGE["epochs"], help="two-stage: epochs over the codes")
    parser.add_argument("--store", default=str(STORE), help="the JSON file of results (read, updated, written)")
    args = parser.parse_args()
    store = Path(args.store)
    rows = json.loads(store.read_text()) if store.exists() else {}
    names = args.names.split(",") if args.names else encoder_checkpoints()
    unknown = sorted(set(names) - set(encoder_checkpoints()))
    if unknown:
        raise SystemExit(f"{', '.join(unknown)}: not published Fashion-MNIST checkpoints with a latent code (those: "
                         f"{', '.join(encoder_checkpoints())})")
    for name in names:
        torch.manual_seed(0)
        rows[name] = compare(name, args.n, args.seeds, args.images, args.components, args.epochs)
        print(name, json.dumps(rows[name]), flush=True)
        store.parent.mkdir(parents=True, exist_ok=True)
        store.write_text(json.dumps(rows, indent=1, sort_keys=True) + "\n")
    print("\n".join(section(rows)))


if __name__ == "__main__":
    main()
