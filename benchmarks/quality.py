"""The results table: every Fashion-MNIST config trained for a stated CPU budget, scored the same way, written to
docs/results.md (with docs/results.json holding every row, so a rerun of some models updates the table in place)
and a sample grid per model.

Columns, per config (``configs/<name>_fashion_mnist.yaml``: its nets, optimisers and batch size):

* iterations, it/s: training batches done in ``--minutes`` of ``trainer.fit`` wall time (one batch runs all of the
  model's due updates; GANs with n_critic > 1 step G on every n-th batch).
* FID, KID, IS, precision, recall: ``--n`` samples against ``--n`` test images in the 128-d features of the
  Fashion-MNIST classifier shipped with zoo (``fmnist-classifier``), not Inception: compare within this table only.
* diversity: 1 - mean MS-SSIM over 2000 random pairs of the samples (Rosca et al. 2017, Fig. 8; 3 scales, 5-px
  window, see :mod:`zoo.metrics.diversity`), read against the test set's own value and a noised test set's (pixel
  noise of std 0.2), given as the two reference rows: lower than the test set's means lost variety (mode collapse),
  higher means noise.
* classes: how many of the 10 classes receive at least 2 % of the samples by that classifier (10: no mode lost).
* recon MSE: per-pixel squared error, in [0, 1] units, of ``reconstruct(x)`` on ``--recon-images`` test images,
  for models with an encoder.
* -ELBO and NLL: nats per image on test images (pixels scored in [0, 1] by the model's own decoder likelihood);
  -ELBO from one posterior draw for models with an ELBO (AVB's uses its adversary's KL estimate, marked ~), NLL by
  importance sampling (IWAE bound, ``--nll-k`` samples) for models with a Gaussian posterior.

The report ends with the sampler comparison of ``benchmarks/samplers.py`` (DRS and DDLS on the published
checkpoints), when ``docs/sampler_results.json`` exists, and the fitted latent priors' comparison of
``benchmarks/latent_priors.py``, when ``docs/latent_prior_results.json`` exists.

    python benchmarks/quality.py --minutes 2                      # train every config, then score
    python benchmarks/quality.py --models vae,wae_gan --minutes 1 # update two rows
    python benchmarks/quality.py --checkpoints runs/quality       # score existing <name>.ckpt files
    python benchmarks/quality.py --report-only                    # new reference values, table from results.json
    python benchmarks/quality.py --published                      # score the published checkpoints (see below)

``--published`` scores every published Fashion-MNIST checkpoint of the registry (``zoo.load(<name>)``: the stored
float16 weights, through the same :func:`zoo.metrics.evaluation.evaluate` as ``zoo evaluate``) and writes the table of
the trained zoo at the top of the report, with each run's iterations, wall time, precision and convergence verdict
from its registry entry. Rows are kept in ``docs/zoo_results.json`` by the checkpoint's sha256, so a rerun scores
only checkpoints published since (``--force`` scores all again).
"""

import argparse
import json
import platform
import shutil
import time
from pathlib import Path

import torch
from latent_priors import section as latent_prior_section  # benchmarks/ is the script's folder
from samplers import section as sampler_section
from torchvision.utils import save_image

from datamodules.fashion_mnist import FashionMNISTDataModule
import zoo
from zoo.checkpoint import load_datamodule
from zoo.cli import ZooCLI, shipped_configs
from zoo.core.omitted import OmittedNetError
from zoo.losses.reconstruction import pixel_mse
from zoo.metrics.likelihood import NoLikelihood, mean_nelbo
from zoo.metrics.classifier import classes_covered, load_classifier
from zoo.metrics.codes import has_categorical_code
from zoo.metrics.diversity import SETTINGS as DIVERSITY_SETTINGS
from zoo.metrics.diversity import reference_diversity
from zoo.metrics.evaluation import evaluate
from zoo.metrics.quality import QualityEvaluator, generated_images, real_images

REPO = Path(__file__).resolve().parent.parent
SUFFIX = "_fashion_mnist.yaml"
REFERENCE = "_reference"
PUBLISHED_STORE = "zoo_results.json"  # rows of the published checkpoints, beside the report  # results.json key of the test set's diversity values, not a model


def _fashion_mnist():
    from datamodules import FashionMNISTDataModule

    return FashionMNISTDataModule(data_dir=str(REPO / "data"), batch_size=1000)


def train(name: str, minutes: float, out_dir: Path) -> tuple[Path, float]:
    """Fit ``<name>_fashion_mnist.yaml`` for ``minutes`` of wall time; return the checkpoint and seconds taken."""
    run_dir = out_dir / name
    shutil.rmtree(run_dir, ignore_errors=True)
    start = time.perf_counter()
    ZooCLI(args=[
        "fit", "--config", f"{name}{SUFFIX}",
        f"--trainer.max_time={json.dumps({'seconds': round(minutes * 60)})}",
        "--trainer.max_epochs=-1", "--trainer.enable_progress_bar=false", "--trainer.logger=false",
        f"--trainer.default_root_dir={run_dir}", "--images.every_n_batches=0",
        "--trainer.callbacks=[]", f"--checkpoint.dirpath={run_dir}", "--checkpoint.filename=last",
    ])
    seconds = time.perf_counter() - start
    checkpoint = out_dir / f"{name}.ckpt"
    shutil.copy(run_dir / "last.ckpt", checkpoint)
    return checkpoint, seconds


@torch.no_grad()
def autoencoding_scores(model, test: torch.Tensor, labels: torch.Tensor | None = None) -> dict:
    """Reconstruction MSE in [0, 1] units and the test -ELBO (nats/image), where the model defines them (a
    conditional model's with the images' ``labels``)."""
    model.eval()
    images = test * 2 - 1
    labels = labels if getattr(model, "conditional", False) else None
    parts = zip(images.split(500), labels.split(500) if labels is not None else [None] * len(images))
    scores = {}
    if hasattr(model, "reconstruct"):
        errors = [pixel_mse(model.reconstruct(chunk, *(() if y is None else (y,))), chunk).item() * len(chunk)
                  for chunk, y in parts]
        scores["recon_mse"] = sum(errors) / len(images)  # pixel_mse measures in [0, 1] units
    if hasattr(model, "elbo_terms"):
        try:
            scores["nelbo_nats"] = mean_nelbo(model, images, labels=labels)
        except (OmittedNetError, NoLikelihood):  # AVB's KL estimate needs its adversary, which a published file
            scores["nelbo_nats"] = None         # leaves out; a VQ-VAE with a squared error has no likelihood
    return scores


def score(name: str, checkpoint: Path, seconds: float | None, args, classifier, grid: bool = True) -> dict:
    model, data = zoo.load(checkpoint), load_datamodule(checkpoint)
    metrics = ("fid", "kid", "is", "pr", "diversity", "nll", *(("accuracy", "ifid") if model.conditional else ()),
               *(("code_accuracy",) if has_categorical_code(model) else ()))
    row = evaluate(model, data, metrics, args.n, "test", "fmnist-classifier", 0, args.nll_k, args.nll_images)
    test, test_labels = real_images(data, "test", args.recon_images)
    row.update(autoencoding_scores(model, test, test_labels))
    if row.get("nelbo_nats", 0) is None and zoo.pretrained.is_pretrained(name):  # measured when it was published
        row["nelbo_nats"] = zoo.pretrained.get(name).metrics.get("nelbo_nats")
    row.update(name=name, seconds=seconds, classes=classes_covered(generated_images(model, 2000) * 2 - 1, classifier))
    if grid:
        save_image(model.sample(64, seed=0), Path(args.report).parent / "results" / f"{name}.png", nrow=8,
                   padding=2, pad_value=1.0)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=2.0, help="training budget per model (wall time)")
    parser.add_argument("--models", default=None, help="comma-separated config names (default: every *" + SUFFIX + ")")
    parser.add_argument("--checkpoints", default=None, help="score <dir>/<name>.ckpt instead of training")
    parser.add_argument("--out", default="runs/quality", help="where runs and checkpoints go")
    parser.add_argument("--n", type=int, default=10_000, help="generated and real images per metric")
    parser.add_argument("--nll-k", type=int, default=5000, help="importance samples per image for the NLL")
    parser.add_argument("--nll-images", type=int, default=200)
    parser.add_argument("--recon-images", type=int, default=2000)
    parser.add_argument("--report", default=str(REPO / "docs" / "results.md"))
    parser.add_argument("--published", action="store_true",
                        help="score the published Fashion-MNIST checkpoints instead of training (the trained zoo)")
    parser.add_argument("--force", action="store_true", help="with --published: score every checkpoint again")
    parser.add_argument("--report-only", action="store_true",
                        help="train and score nothing: recompute the test set's reference values and rewrite the "
                             "report from the stored rows")
    args = parser.parse_args()
    if args.published:
        return score_published(args)

    names = [] if args.report_only else args.models.split(",") if args.models else sorted(
        c.removesuffix(SUFFIX) for c in shipped_configs() if c.endswith(SUFFIX))
    out_dir = Path(args.checkpoints or args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    (Path(args.report).parent / "results").mkdir(parents=True, exist_ok=True)
    store = Path(args.report).with_suffix(".json")
    rows = json.loads(store.read_text()) if store.exists() else {}
    classifier = load_classifier("fashion_mnist")
    test_data = load_datamodule(out_dir / f"{names[0]}.ckpt") if args.checkpoints and names else _fashion_mnist()
    rows[REFERENCE] = reference_diversity(real_images(test_data, "test", args.n)[0])
    setting = (f"{'scored checkpoints' if args.checkpoints else f'{args.minutes:g} min of training'} on "
               f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} CPU threads")
    for name in names:
        torch.manual_seed(0)
        if args.checkpoints:
            checkpoint, seconds = out_dir / f"{name}.ckpt", None
        else:
            checkpoint, seconds = train(name, args.minutes, out_dir)
        rows[name] = {**score(name, checkpoint, seconds, args, classifier), "setting": setting}
        print(json.dumps(rows[name]), flush=True)
        store.write_text(json.dumps(rows, indent=1, sort_keys=True))
        Path(args.report).write_text(report(rows, args))
    store.write_text(json.dumps(rows, indent=1, sort_keys=True))
    Path(args.report).write_text(report(rows, args))
    print(f"wrote {args.report}")


def score_published(args) -> None:
    """Score the published Fashion-MNIST checkpoints not yet scored (by sha256) and rewrite the report."""
    from zoo.pretrained import list_pretrained, pull

    store = Path(args.report).parent / PUBLISHED_STORE
    rows = json.loads(store.read_text()) if store.exists() else {}
    classifier = load_classifier("fashion_mnist")
    entries = [e for e in list_pretrained() if e.dataset == "Fashion-MNIST"]
    rows = {k: v for k, v in rows.items() if k in {e.name for e in entries}}  # withdrawn entries leave the table
    for entry in entries:
        if not args.force and rows.get(entry.name, {}).get("sha256") == entry.sha256:
            continue
        torch.manual_seed(0)
        row = score(entry.name, pull(entry.name), None, args, classifier, grid=False)
        rows[entry.name] = {**row, "sha256": entry.sha256}
        print(json.dumps(rows[entry.name]), flush=True)
        store.write_text(json.dumps(rows, indent=1, sort_keys=True))
    store.write_text(json.dumps(rows, indent=1, sort_keys=True))
    two_minute = Path(args.report).with_suffix(".json")
    Path(args.report).write_text(report(json.loads(two_minute.read_text()) if two_minute.exists() else {}, args))
    print(f"wrote {args.report}")


def published_report(args) -> list[str]:
    """The trained zoo's table: one row per published checkpoint, scored by :func:`score_published`."""
    from zoo.metrics.convergence import PUBLISHABLE, RULE, verdict_of
    from zoo.pretrained import get

    store = Path(args.report).parent / PUBLISHED_STORE
    rows = json.loads(store.read_text()) if store.exists() else {}
    if not rows:
        return []
    tag = "[fmnist-classifier]"
    n = next(iter(rows.values())).get("n_generated")
    lines = [
        "# The trained zoo on Fashion-MNIST",
        "",
        "Every published checkpoint (`zoo pull --list`; `zoo.load(\"<name>\")`), each trained with its own "
        "`configs/<name>.yaml` on a 2-core x86_64 CPU (by `benchmarks/release.py`: one CPU thread per run, two "
        "runs side by side, unless its card says otherwise), scored on its stored float16 weights by "
        "`python benchmarks/quality.py "
        f"--published` (the code of `zoo evaluate`): FID, KID, IS, precision and recall of {n} samples against {n} "
        "test images in the features of the shipped classifier (`fmnist-classifier`), diversity "
        f"({DIVERSITY_SETTINGS}) read against the test set's (in brackets), classes = how many of the 10 classes get at least 2 % of the samples. "
        f"Verdict: zoo's rule, {RULE} (the tail's improvement in brackets). Published / run iterations: the "
        "iteration whose weights are published (the run's best logged FID for releases made since `best.ckpt`) and "
        "the run's length. Wall time: `trainer.fit`, including "
        "the quality curve's evaluations; iterations are training batches. Recon MSE on "
        f"{args.recon_images} test images; -ELBO and NLL in nats per image (NLL: IWAE bound with k = {args.nll_k} "
        f"on {args.nll_images} test images; – where a published file leaves out the net the bound needs, e.g. AVB's "
        "adversary, which estimates its KL term; AVB's -ELBO, marked ~, is that adversary's estimate, measured by "
        "`zoo publish` on the training checkpoint before the adversary was left out).",
        "",
        "| model | samples | published / run iterations | wall time | trained in | verdict | FID | KID | IS | precision | recall "
        "| diversity | classes | recon MSE | -ELBO | NLL |",
        "| --- | --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in sorted(rows):
        r, entry = rows[name], get(name)
        training, trainer = entry.training, entry.config.get("trainer", {})
        curve = training.get("convergence")
        converged = "–" if not curve else (
            (verdict_of(curve) if verdict_of(curve) in PUBLISHABLE else f"**{verdict_of(curve)}**")
            + ("" if curve["tail_improvement"] is None else f" ({curve['tail_improvement']:.1%})"))
        published = training.get("published", {}).get("iteration", training.get("iterations"))
        run_length = training.get("run_iterations", training.get("iterations"))
        wall = f"{training['wall_seconds'] / 60:.0f} min" if training.get("wall_seconds") else "–"

        def num(key, digits=2, prefix=""):
            value = r.get(key)
            return "–" if value is None else f"{prefix}{value:.{digits}f}"

        lines.append(
            f"| [{name}](../zoo/pretrained/{name}.md) | <img src=\"../zoo/pretrained/{name}.png\" width=\"96\"> | "
            f"{published or '–'} of {run_length or '–'} | {wall} | {trainer.get('precision', '–')} | {converged} | "
            f"{num('fid' + tag)} | {num('kid' + tag, 3)} | {num('is' + tag)} | {num('precision' + tag, 3)} | "
            f"{num('recall' + tag, 3)} | {num('diversity', 3)} ({num('diversity[test]', 3)}) | "
            f"{r.get('classes', '–')} | {num('recon_mse', 4)} | "
            f"{num('nelbo_nats', 1, '~' if r.get('model') == 'AVB' else '')} | {num('nll_nats', 1)} |"
        )
    return lines + conditional_section(rows) + code_section(rows) + coverage_notes(rows) + [
        "", "# Equal small budget: every config for 2 minutes", ""]


def section_start(rows: dict, key: str, intro: str, header: str, alignment: str) -> tuple[dict, list[str]]:
    """The rows that have a value for ``key`` (by name) and, when there are any, the section's opening paragraph
    and its table's header lines (no lines when there are none)."""
    selected = {name: r for name, r in sorted(rows.items()) if r.get(key) is not None}
    return selected, (["", intro, "", header, alignment] if selected else [])


def conditional_section(rows: dict) -> list[str]:
    """The conditional models' own columns: does a sample show the class asked for, and the intra-class FID."""
    tag = "[fmnist-classifier]"
    conditional, lines = section_start(
        rows, "accuracy" + tag,
        "Conditional models, asked for each class in turn (`zoo evaluate --metrics accuracy,ifid`): accuracy = the "
        "share of samples the shipped classifier assigns to the class asked for (its accuracy on as many real test "
        "images in brackets); iFID = per class, FID of that class's samples against that class's test images, "
        "averaged over the classes (the worst class beside it).",
        "| model | accuracy | mean iFID | worst class (iFID) |", "| --- | ---: | ---: | --- |")
    for name, r in conditional.items():
        per_class = r.get("ifid_per_class" + tag) or {}
        worst = max(per_class, key=per_class.get) if per_class else None
        lines.append(f"| {name} | {r['accuracy' + tag]:.3f} ({r.get('accuracy_real' + tag, float('nan')):.3f}) | "
                     f"{r['ifid' + tag]:.2f} | " + (f"{worst} ({per_class[worst]:.2f})" if worst else "–") + " |")
    return lines


def code_section(rows: dict) -> list[str]:
    """What the unsupervised models' categorical code learned (InfoGAN, Chen et al. 2016): the best one-to-one
    assignment of its values to the classes, and its accuracy on the shipped classifier's predictions."""
    tag = "[fmnist-classifier]"
    coded, lines = section_start(
        rows, "code_accuracy" + tag,
        "Models with a categorical latent code, trained without labels (`zoo evaluate --metrics code_accuracy`): "
        "each value of the code draws as many samples (the rest of the latent from the prior), the shipped "
        "classifier sorts them, and the best one-to-one assignment of values to classes gives the accuracy: 1 when "
        "each value draws one class of its own, about 0.1 for a code that ignores the classes.",
        "| model | code accuracy | the class of each code value, in order |", "| --- | ---: | --- |")
    classes = FashionMNISTDataModule.class_names
    for name, r in coded.items():
        assignment = ", ".join("–" if k is None else classes[k] for k in r.get("code_assignment" + tag) or [])
        lines.append(f"| {name} | {r['code_accuracy' + tag]:.3f} | {assignment} |")
    return lines


def coverage_notes(rows: dict) -> list[str]:
    """The card's "Mode coverage" note (what was tried) of every published model at or below zoo's 8 classes."""
    index = json.loads((Path(zoo.__file__).parent / "pretrained" / "index.json").read_text())["checkpoints"]
    notes = [f"- **{name}**: {index[name]['note']}" for name in sorted(rows)
             if index.get(name, {}).get("note", "").startswith("Mode coverage")]
    return ["", "Models at or below zoo's 8 covered classes, from their cards:", "", *notes] if notes else []


def report(rows: dict[str, dict], args) -> str:
    tag = "[fmnist-classifier]"
    reference = rows.get(REFERENCE, {})
    rows = {k: v for k, v in rows.items() if k != REFERENCE}
    settings = sorted({r.get("setting", "") for r in rows.values()})
    trained_zoo = published_report(args)
    lines = [
        *(trained_zoo or ["# Results on Fashion-MNIST", ""]),
        "Written by `python benchmarks/quality.py` (see its docstring for how each column is made). Each row is one "
        "`configs/<name>_fashion_mnist.yaml` trained from scratch, seed 0, for a short CPU budget: "
        f"{'; '.join(settings)}. FID, KID, IS, precision and recall use the Fashion-MNIST classifier shipped with "
        f"zoo (`fmnist-classifier`, 128-d features), {args.n} samples against {args.n} test images. NLL: IWAE bound "
        f"with k = {args.nll_k} on {args.nll_images} test images. Diversity: 1 - mean MS-SSIM of 2000 random pairs "
        "(3 scales; these rows were measured with the 9-px window that torchmetrics ran before zoo fixed it to a "
        "true 5-px one, so read them against this table's two reference rows only, not the trained zoo's); – where a column does not apply to the "
        "model. Rows may come from separate runs of this script: the same net's it/s, and so its iterations in the "
        "budget, varied by up to a quarter between runs on this shared machine (e.g. vae vs vae_latent20). These "
        "budgets are minutes, not the papers' days: compare models with each other, not with published numbers.",
        "",
        "| model | iterations | it/s | FID | KID | IS | precision | recall | diversity | classes | recon MSE | -ELBO "
        "| NLL |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, key in (("test set (reference)", "diversity[test]"), ("noised test set (reference)",
                                                                     "diversity[test+noise]")):
        if key in reference:
            lines.append(f"| *{label}* | | | | | | | | {reference[key]:.3f} | | | | |")
    for name in sorted(rows):
        r = rows[name]

        def num(key, digits=2, prefix=""):
            value = r.get(key)
            return "–" if value is None else f"{prefix}{value:.{digits}f}"

        rate = "–" if not r.get("seconds") else f"{r['iteration'] / r['seconds']:.1f}"
        lines.append(
            f"| [{name}](results/{name}.png) | {r.get('iteration') or '–'} | {rate} | {num('fid' + tag)} | "
            f"{num('kid' + tag, 3)} | {num('is' + tag)} | {num('precision' + tag, 3)} | {num('recall' + tag, 3)} | "
            f"{num('diversity', 3)} | {r.get('classes', '–')} | {num('recon_mse', 4)} | "
            f"{num('nelbo_nats', 1, '~' if r.get('model') == 'AVB' else '')} | {num('nll_nats', 1)} |"
        )
    sampler_store = Path(args.report).parent / "sampler_results.json"
    if sampler_store.exists():
        lines += ["", *sampler_section(json.loads(sampler_store.read_text()))]
    latent_prior_store = Path(args.report).parent / "latent_prior_results.json"
    if latent_prior_store.exists():
        lines += ["", *latent_prior_section(json.loads(latent_prior_store.read_text()))]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
