"""``zoo publish``: turn a training checkpoint into a release of the pretrained registry.

Writes into ``--out``:

- ``NAME.ckpt``: the slim checkpoint (weights, hyper-parameters, zoo's entry and the data module's
  hyper-parameters; the optimiser states, loops and callbacks only with ``--with-optimizer``). It is checked to load
  with ``zoo.load`` and to sample exactly what the original does before anything else is written;
- ``NAME.md``: the model card (model, paper, data, config, metrics with their extractor and counts) and
  ``NAME.png``, a grid of 64 samples (seed 0);
- ``NAME.entry.json``: the registry entry to add to ``zoo/pretrained/index.json`` (``--index`` adds it for you);
- ``NAME.config.yaml``: the run's full resolved config, when the checkpoint sits in a ``zoo fit`` run folder;
- with ``--hf-repo OWNER/REPO``, ``NAME-hf/``: a Hugging Face Hub model repository, ready for one upload
  (``hf upload OWNER/REPO OUT/NAME-hf .``): ``NAME.ckpt``, ``NAME.png``, ``config.yaml`` (the run config, else the
  model and data sections) and ``README.md``, the model card under the metadata the Hub indexes (library, licence,
  datasets, tags, task, and the metrics as ``model-index``).

The entry points at a file shipped next to the index (``"file": "NAME.ckpt"``); with ``--url-prefix``, at
``URL-PREFIX/NAME.ckpt``; with ``--hf-repo``, at ``{"repo": "OWNER/REPO", "filename": "NAME.ckpt", "revision":
"main"}`` on the Hub (pin a tag or commit there once uploaded, if you like).
"""

import argparse
import json
import shutil
from pathlib import Path

from zoo.arguments import AT_LEAST_1, SEED, CommandParser, comma_list, number
from zoo.core.omitted import OMITTED_KEY, without_nets
from zoo.metrics.diversity import reference_keys
from zoo.metrics.quality import METRICS, check_counts
from zoo.runs import check_writable

HELP = "prepare a pretrained release: zoo publish --ckpt PATH --name NAME --out DIR [--metrics ...] [--n 2000]"
STORED_DTYPES = ("float32", "float16", "bfloat16")
HALF_PRECISION_TOLERANCE = 0.02  # largest difference (in [0, 1]) of a model's rounding probe from rounded weights
TRAINING_ONLY = ("optimizer_states", "lr_schedulers", "loops", "callbacks", "epoch", "global_step")
GRID_COLUMNS = 8
"""Samples per row of a release's grid; a conditional model's has one row per class."""
CONDITIONAL_RELEASE_METRICS = ("accuracy", "ifid")
"""Measured for every conditional release beside ``--metrics``: does a sample show the class asked for, and how
close is each class's samples to that class's data (intra-class FID)."""
MEASUREMENT = ("extractor", "split", "n_real", "n_generated", "seed", "iteration")  # how metrics were measured
HUB_DATASETS = {  # data module name -> dataset id on the Hub, for the card's metadata
    "MNIST": "ylecun/mnist", "Fashion-MNIST": "zalando-datasets/fashion_mnist", "CIFAR-10": "uoft-cs/cifar10",
}
HUB_TASK = "unconditional-image-generation"


def parser() -> CommandParser:
    """The arguments of ``zoo publish``, with their types and ranges."""
    parser = CommandParser(prog="zoo publish", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", required=True, help="the training checkpoint (e.g. runs/.../last.ckpt)")
    parser.add_argument("--which", default="best", choices=["best", "last"],
                        help="best (default): the run's best.ckpt beside --ckpt, the weights at its lowest logged FID "
                             "(--ckpt itself when the run kept none); last: exactly the --ckpt given")
    parser.add_argument("--name", required=True,
                        help="registry name: the training config's name without .yaml (e.g. vae_fashion_mnist)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--with-optimizer", action="store_true",
                        help="keep the optimiser states, loops, callbacks and random state (resumable, larger)")
    parser.add_argument("--with-training-nets", action="store_true",
                        help="keep the nets only training uses (e.g. BiGAN's joint discriminator), which a release "
                             "leaves out by default to stay small; --with-optimizer keeps them too")
    parser.add_argument("--weights-dtype", default="float32", choices=STORED_DTYPES,
                        help="store floating-point weights in this type (float16 halves the file; they load back "
                             "as float32, and the metrics are measured on the stored weights)")
    parser.add_argument("--metrics", default="fid,kid,is,pr",
                        help="comma-separated (fid, kid, is, pr, diversity, nll), or none")
    parser.add_argument("--n", type=number(int, AT_LEAST_1), default=2000, help="real and generated images per metric")
    parser.add_argument("--split", default="test", choices=["train", "val", "test"])
    parser.add_argument("--extractor", default=None, help="feature extractor (default: by dataset, see zoo evaluate)")
    parser.add_argument("--seed", type=number(int, SEED), default=0)
    parser.add_argument("--data-dir", default=None, help="override the data module's data_dir for the metrics")
    hosts = parser.add_mutually_exclusive_group()
    hosts.add_argument("--url-prefix", default=None, help="where NAME.ckpt will be hosted (http(s):// or file://)")
    hosts.add_argument("--hf-repo", default=None, metavar="OWNER/REPO",
                       help="host it in this Hugging Face Hub model repository: also writes OUT/NAME-hf/ to upload")
    parser.add_argument("--config", default=None,
                        help="the config file it was trained with (e.g. vae_fashion_mnist.yaml)")
    parser.add_argument("--curve", action="append", default=None, metavar="METRICS_CSV",
                        help="the run's metrics.csv, once per leg of a resumed run, in order (default: the one "
                             "beside the checkpoint's config.yaml); its FID curve gives the convergence verdict")
    parser.add_argument("--license", default="MIT", help="licence of the weights (default MIT, zoo's own)")
    parser.add_argument("--description", default="", help="one line for the card and the registry")
    parser.add_argument("--note", default="",
                        help="a paragraph for the card's Notes section, e.g. 'Mode coverage: ...' for a model that "
                             "covers fewer than 8 classes, with what was tried")
    parser.add_argument("--index", default=None, help="also add (or replace) the entry in this index.json")
    return parser


def run(argv: list[str]) -> None:
    command = parser()
    args = command.parse_args(argv)
    if args.hf_repo is not None and args.hf_repo.count("/") != 1:
        command.error(f"--hf-repo {args.hf_repo!r}: give the Hub repository as OWNER/REPO, e.g. you/zoo-vae.")
    if args.weights_dtype != "float32" and args.with_optimizer:
        command.error("--weights-dtype rounds the weights, so the release could not resume training exactly: "
                      "give --with-optimizer or --weights-dtype, not both.")
    for log in args.curve or ():
        if not Path(log).is_file():
            command.error(f"--curve {log}: no such file. Give the metrics.csv of each version folder of the run.")
    try:
        metrics = metric_names(args.metrics)
    except argparse.ArgumentTypeError as error:
        command.error(f"argument --metrics: {error}")
    check_counts(tuple(m for m in metrics if m != "nll"), args.n)  # before the checkpoint is read
    publish(args)


def metric_names(text: str) -> tuple[str, ...]:
    """The metrics of ``--metrics`` (``none``: no metrics); unknown names are refused with the close ones."""
    if text.strip().lower() in ("none", ""):
        return ()
    return comma_list(METRICS)(text)


def publish(args: argparse.Namespace) -> dict:
    """Write the release files for ``args`` (as parsed by :func:`run`); returns the registry entry."""
    import torch
    from torchvision.utils import save_image

    from zoo.checkpoint import load, read_checkpoint
    from zoo.checkpoint_errors import CheckpointError
    from zoo.metrics.convergence import logs_convergence
    from zoo.pretrained import Pretrained, sha256_of

    if not args.name.replace("_", "").replace("-", "").isalnum():
        raise CheckpointError(f"--name {args.name!r}: use letters, digits, '_' and '-' only (e.g. vae_fashion_mnist).")
    out = Path(args.out)
    check_writable(out, "Nothing was published. Fix: give --out a folder you can write to.")
    given = args.ckpt
    args.ckpt, why = chosen_checkpoint(args.ckpt, args.which)
    print(f"publishing {args.ckpt}: {why}")
    source = read_checkpoint(args.ckpt)
    slim_path = out / f"{args.name}.ckpt"
    rounded = args.weights_dtype != "float32"
    original = load(args.ckpt)
    omitted = () if args.with_optimizer or args.with_training_nets else original.training_only_nets()
    torch.save(slim_checkpoint(source, args.with_optimizer, args.weights_dtype, omitted), slim_path)
    slim = load(slim_path)
    expected, got = original.rounding_probe(64, args.seed), slim.rounding_probe(64, args.seed)
    difference = (expected - got).abs().max().item()
    if difference > (HALF_PRECISION_TOLERANCE if rounded else 0):
        slim_path.unlink()
        raise CheckpointError(
            f"{slim_path} does not sample what {args.ckpt} does (largest difference {difference:.3g} in the "
            f"{original.ROUNDING_PROBE}); nothing was published. "
            + (f"The model is too sensitive to {args.weights_dtype} weights: publish as float32."
               if rounded else "This is a bug in zoo publish: please report it."))
    if slim.conditional:  # the classic conditional figure: a row per class, the same noise down each column
        from zoo.sampling.classes import class_grid

        save_image(class_grid(slim, GRID_COLUMNS, args.seed), out / f"{args.name}.png", nrow=GRID_COLUMNS, padding=2,
                   pad_value=1.0)
    else:
        save_image(slim.sample(64, seed=args.seed), out / f"{args.name}.png", nrow=8, padding=2, pad_value=1.0)

    zoo_state = source.get("zoo", {})
    class_path = zoo_state.get("class_path") or source["hyper_parameters"].get("_class_path")
    model_entry = _registered(class_path)
    data_hparams = dict(source.get("datamodule_hyper_parameters") or {})
    data_class_path = data_hparams.get("_class_path") or zoo_state.get("datamodule_class_path")

    run_config = _run_config(Path(args.ckpt))
    if run_config is not None:
        (out / f"{args.name}.config.yaml").write_text(portable_run_config(run_config.read_text()))
    logs = args.curve or ([run_config.parent / "metrics.csv"] if run_config is not None else [])
    convergence = logs_convergence([log for log in logs if Path(log).is_file()]) if logs else None
    metrics = _metrics(slim, slim_path, args)
    if omitted and metrics and hasattr(original, "elbo_terms"):
        metrics.update(elbo_with_training_nets(original, slim_path, args))
    entry = {
        "model": model_entry.name if model_entry else class_path.rsplit(".", 1)[-1].lower(),
        "class_path": class_path,
        "paper": model_entry.paper if model_entry else "",
        "dataset": _dataset_name(data_class_path),
        "description": args.description,
        **_source(args, slim_path.name),
        "sha256": sha256_of(slim_path),
        "size": slim_path.stat().st_size,
        "license": args.license,
        "config": {
            "file": args.config,
            "run_config": f"{args.name}.config.yaml" if run_config is not None else None,
            "model": _as_config(source.get("hyper_parameters") or {}, class_path),
            "data": _as_config(data_hparams, data_class_path),
            **_trainer_summary(run_config),
        },
        "training": {
            "iterations": zoo_state.get("iteration"),
            "optimizer_steps": source.get("global_step"),
            "with_optimizer": bool(args.with_optimizer),
            **({"omitted_nets": list(omitted)} if omitted else {}),
            "weights_dtype": args.weights_dtype,
            **({"largest_sample_difference": round(difference, 6)} if rounded else {}),
            **({"rounding_probe": original.ROUNDING_PROBE} if rounded and original.ROUNDING_PROBE != "samples" else {}),
            **_run_facts(zoo_state, source if given == args.ckpt else read_checkpoint(given)),
            "published": {"which": "best" if is_best(args.ckpt) else "last", "iteration": zoo_state.get("iteration"),
                          "why": why},
            **({"convergence": convergence.summary()} if convergence is not None else {}),
        },
        "metrics": metrics,
        "card": f"{args.name}.md",
        **({"note": args.note} if args.note else {}),
    }
    Pretrained.from_dict(args.name, entry)  # the entry must be one the registry accepts
    (out / f"{args.name}.entry.json").write_text(json.dumps({args.name: entry}, indent=2) + "\n")
    (out / f"{args.name}.md").write_text(model_card(args.name, entry))
    if args.index:
        add_to_index(Path(args.index), args.name, entry)
    print(f"published {args.name}: {slim_path} ({entry['size'] / 1e6:.2f} MB, sha256 {entry['sha256']})")
    print(f"  card: {out / (args.name + '.md')}  entry: {out / (args.name + '.entry.json')}"
          + (f"  (added to {args.index})" if args.index else ""))
    if args.hf_repo:
        folder = hub_folder(out, args.name, entry)
        print(f"  Hub repository: {folder}; upload it with: hf upload {args.hf_repo} {folder} .")
    return entry


def chosen_checkpoint(ckpt: str, which: str) -> tuple[str, str]:
    """The file ``--which`` picks for ``--ckpt`` and why: the run's ``best.ckpt`` beside it, or ``ckpt`` itself."""
    from zoo.callbacks.best import best_beside

    if which == "last" or is_best(ckpt):
        return ckpt, "the checkpoint given" + (" (--which last)" if which == "last" else "")
    best = best_beside(ckpt) if Path(ckpt).is_file() else None
    if best is None:
        return ckpt, "the checkpoint given: the run kept no best.ckpt beside it (no FID curve logged)"
    return str(best), "the run's best.ckpt: the weights at its lowest logged FID"


def is_best(ckpt: str | Path) -> bool:
    from zoo.callbacks.best import BEST_NAME

    return Path(ckpt).name == f"{BEST_NAME}.ckpt"


def _run_facts(zoo_state: dict, run_checkpoint: dict) -> dict:
    """The run's length and training time (from the checkpoint given as ``--ckpt``, e.g. its ``last.ckpt``) where
    the published weights came earlier, and the time it took to reach them."""
    run = run_checkpoint.get("zoo", {})
    reached, total = zoo_state.get("train_seconds"), run.get("train_seconds") or zoo_state.get("train_seconds")
    earlier = run.get("iteration") is not None and run["iteration"] > (zoo_state.get("iteration") or 0)
    return {**({"wall_seconds": round(total)} if total else {}),
            **({"published_wall_seconds": round(reached), "run_iterations": run["iteration"]}
               if earlier and reached else {})}


def _source(args: argparse.Namespace, filename: str) -> dict:
    """Where the entry says the checkpoint lives: the Hub, a URL, or next to the index."""
    if args.hf_repo:
        return {"hf": {"repo": args.hf_repo, "filename": filename, "revision": "main"}}
    if args.url_prefix:
        return {"url": f"{args.url_prefix.rstrip('/')}/{filename}"}
    return {"file": filename}


def hub_folder(out: Path, name: str, entry: dict) -> Path:
    """Write ``out/NAME-hf/``, the files of the entry's Hub model repository: checkpoint, samples, ``config.yaml``
    and ``README.md`` (metadata + model card). Returns the folder."""
    folder = out / f"{name}-hf"
    folder.mkdir(exist_ok=True)
    for suffix in (".ckpt", ".png"):
        shutil.copyfile(out / f"{name}{suffix}", folder / f"{name}{suffix}")
    config, run_config = entry["config"], entry["config"].get("run_config")
    (folder / "config.yaml").write_text((out / run_config).read_text() if run_config else recipe(config))
    card = model_card(name, {**entry, "config": {**config, "run_config": "config.yaml" if run_config else None}})
    (folder / "README.md").write_text(f"---\n{hub_metadata(name, entry)}---\n\n{card}")
    return folder


def hub_metadata(name: str, entry: dict) -> str:
    """The YAML front matter of the Hub's model card: what the Hub indexes and shows (library, licence, datasets,
    tags, task) and the metrics as ``model-index`` results."""
    from huggingface_hub import EvalResult, ModelCardData

    dataset, metrics = HUB_DATASETS.get(entry["dataset"]), entry["metrics"]
    not_the_model = (*MEASUREMENT, "model", *reference_keys(metrics.get("split", "test")))  # the data's diversity
    scores = {k: v for k, v in metrics.items()
              if k not in not_the_model and "_std" not in k and isinstance(v, (int, float))}
    results = [EvalResult(task_type=HUB_TASK, dataset_type=dataset or entry["dataset"], dataset_name=entry["dataset"],
                          dataset_split=metrics.get("split"), metric_type=key.split("[")[0], metric_value=value,
                          metric_name=key) for key, value in scores.items()]
    data = ModelCardData(library_name="zoo", license=entry["license"].lower(), datasets=[dataset] if dataset else None,
                         tags=["zoo", "pytorch", "pytorch-lightning", entry["model"], HUB_TASK], pipeline_tag=HUB_TASK,
                         model_name=name, metrics=sorted({r.metric_type for r in results}) or None,
                         eval_results=results or None)
    return data.to_yaml() + "\n"


def slim_checkpoint(checkpoint: dict, with_optimizer: bool = False, weights_dtype: str = "float32",
                    omitted: tuple[str, ...] = ()) -> dict:
    """What a release needs to rebuild and sample the model; the training state only when asked. Floating-point
    tensors of the state dict are stored as ``weights_dtype`` (``load_state_dict`` copies them back into the
    model's float32 parameters); the nets named in ``omitted`` (only training uses them) are left out and listed
    in the ``zoo`` state (:mod:`zoo.core.omitted`)."""
    import torch

    if with_optimizer:
        return dict(checkpoint)
    slim = {key: checkpoint[key] for key in ("state_dict", "hyper_parameters", "datamodule_hyper_parameters",
                                             "pytorch-lightning_version") if key in checkpoint}
    stored = getattr(torch, weights_dtype)

    def kept(tensor):  # float32 keeps every tensor as trained
        rounded = weights_dtype != "float32" and tensor.is_floating_point()
        return tensor.detach().to(stored if rounded else tensor.dtype).clone().contiguous()

    slim["state_dict"] = {k: kept(v) for k, v in without_nets(checkpoint["state_dict"], omitted).items()}
    slim["hyper_parameters"] = dict(checkpoint.get("hyper_parameters") or {})
    if "datamodule_hyper_parameters" in slim:
        slim["datamodule_hyper_parameters"] = dict(slim["datamodule_hyper_parameters"])
    slim["zoo"] = {k: v for k, v in checkpoint.get("zoo", {}).items() if k != "rng"}  # rng only matters to resume
    if omitted:
        slim["zoo"][OMITTED_KEY] = list(omitted)
    return slim


def add_to_index(index: Path, name: str, entry: dict) -> None:
    """Add or replace ``name`` in an index file (created if missing), keeping the others in name order."""
    data = json.loads(index.read_text()) if index.is_file() else {"format": 1, "checkpoints": {}}
    data.setdefault("checkpoints", {})[name] = entry
    data["checkpoints"] = dict(sorted(data["checkpoints"].items()))
    index.write_text(json.dumps(data, indent=2) + "\n")


def model_card(name: str, entry: dict) -> str:
    """The Markdown model card of a release."""
    hf = entry.get("hf")
    classes = (entry["config"]["model"].get("init_args") or {}).get("class_names")  # a conditional model's
    where = (f"on the Hugging Face Hub, `{hf['filename']}` of `{hf['repo']}` (revision `{hf['revision']}`)" if hf
             else entry.get("url") or f"shipped inside the package (`zoo/pretrained/{entry['file']}`)")
    config, training, metrics = entry["config"], entry["training"], entry["metrics"]
    lines = [
        f"# {name}",
        "",
        *([entry["description"], ""] if entry.get("description") else []),
        f"- **Model**: `{entry['model']}` (`{entry['class_path']}`)",
        f"- **Paper**: {entry['paper'] or 'n/a'}",
        f"- **Data**: {entry['dataset']} (`{config['data'].get('class_path')}`)",
        f"- **Training**: {training['iterations']} iterations"
        + (f" (the weights published; the run went on to {training['run_iterations']})"
           if training.get("run_iterations") else "")
        + (f" ({training['optimizer_steps']} optimiser steps)" if training.get("optimizer_steps") is not None else "")
        + (f", trainer {_inline(config['trainer'])}" if config.get("trainer") else "")
        + (f"; config `{config['file']}`" if config.get("file") else "")
        + (f"; full run config `{config['run_config']}`" if config.get("run_config") else ""),
        f"- **Checkpoint**: {where}; {entry['size']} bytes; sha256 `{entry['sha256']}`"
        + ("; includes the optimiser states (resumable)" if training.get("with_optimizer") else "")
        + (f"; weights stored as {training['weights_dtype']} (loaded as float32; "
           f"{training.get('rounding_probe', 'samples')} within {training['largest_sample_difference']:.3g} of the "
           f"float32 weights' per {'value' if 'rounding_probe' in training else 'pixel'}; metrics measured on the "
           "stored weights)" if training.get("weights_dtype", "float32") != "float32" else ""),
        *_training_lines(training),
        f"- **Licence**: {entry['license']}",
        "",
        "## Use",
        "",
        "```bash",
        f"zoo pull {name}",
        f"zoo sample --ckpt {name} --n 64 --out grid.png",
        *([f"zoo sample --ckpt {name} --class {classes[-1].lower()!r} --n 16 --out one_class.png",
           f"zoo sample --ckpt {name} --class-grid --out class_grid.png"] if classes else []),
        "```",
        "",
        "```python",
        "import zoo",
        f'model = zoo.load("{name}")',
        "images = model.sample(64)  # (64, C, H, W) in [0, 1]"
        + ("; classes drawn uniformly" if classes else ""),
        *([f"images = model.sample(8, labels=[{classes[-1]!r}] * 8)  # by name (any case) or index"]
          if classes else []),
        *([f"# or straight from the Hub: zoo.load(huggingface_hub.hf_hub_download({hf['repo']!r}, "
           f"{hf['filename']!r}))"] if hf else []),
        "```",
        "",
        "## Samples",
        "",
        *([f"One row per class ({', '.join(classes)}), the same noise down each column, seed 0:", "",
           f"![{GRID_COLUMNS} samples of each class, seed 0]({name}.png)"] if classes
          else [f"![64 samples, seed 0]({name}.png)"]),
        "",
        "## Metrics",
        "",
    ]
    if metrics:
        how = {k: metrics.get(k) for k in MEASUREMENT}
        lines += [
            "Measured by `zoo.metrics.evaluation.evaluate` (as `zoo evaluate`): "
            + ", ".join(f"{k} {v}" for k, v in how.items() if v is not None) + ".",
            "",
            "| metric | value |",
            "| --- | --- |",
        ]
        lines += [f"| {k} | {v} |" for k, v in metrics.items() if k not in how and k != "model"]
    else:
        lines.append("Not measured for this release.")
    if entry.get("note"):
        lines += ["", "## Notes", "", entry["note"]]
    lines += ["", "## Config", "", "The model and data sections of the config it was trained with (resolved):", "",
              "```yaml", recipe(config).rstrip(), "```", ""]
    return "\n".join(lines)


def recipe(config: dict) -> str:
    """The model and data sections of an entry's config as YAML (a config ``zoo fit --config`` takes)."""
    import yaml

    return yaml.safe_dump({"model": config["model"], "data": config["data"]}, sort_keys=False,
                          default_flow_style=None, width=110)


def _training_lines(training: dict) -> list[str]:
    """The card's wall-time and convergence lines, where the run recorded them."""
    lines = []
    if training.get("wall_seconds"):
        lines.append(f"- **Wall time**: {training['wall_seconds'] / 60:.1f} min of training")
    if training.get("omitted_nets"):
        nets = ", ".join(f"`{net}`" for net in training["omitted_nets"])
        lines.append(f"- **Left out**: {nets}, which only training uses (sampling and encoding do not); the "
                     "checkpoint therefore cannot be trained further or validated")
    curve = training.get("convergence")
    if curve:
        lines.append(f"- **Convergence**: {verdict_phrase(curve)} (zoo's rule: {curve['rule']}). Training curve "
                     f"`{curve['metric']}`: {curve['first']['fid']:.2f} at iteration {curve['first']['iteration']}, "
                     f"best {curve['best']['fid']:.2f} at {curve['best']['iteration']}, "
                     f"last {curve['last']['fid']:.2f} at {curve['last']['iteration']} ({curve['points']} points)")
    published = training.get("published")
    if published:
        lines.append(f"- **Published weights**: iteration {published['iteration']}, {published['why']}")
    return lines


def verdict_phrase(curve: dict) -> str:
    """The card's words for a convergence summary: the verdict in bold where training is not over."""
    from zoo.metrics.convergence import PUBLISHABLE, explain, verdict_of

    return explain(curve) if verdict_of(curve) in PUBLISHABLE else f"**{explain(curve)}**"


def _inline(mapping: dict) -> str:
    return ", ".join(f"`{k}: {v}`" for k, v in mapping.items())


def _metrics(model, slim_path: Path, args) -> dict:
    metrics = metric_names(args.metrics)
    if not metrics:
        return {}
    if model.conditional:
        metrics = (*metrics, *(m for m in CONDITIONAL_RELEASE_METRICS if m not in metrics))
    from zoo.checkpoint import load_datamodule
    from zoo.metrics.codes import has_categorical_code
    from zoo.metrics.evaluation import evaluate
    from zoo.metrics.features import default_extractor, is_classifier

    data = load_datamodule(slim_path, **({"data_dir": args.data_dir} if args.data_dir else {}))
    extractor = args.extractor or default_extractor(data)
    if has_categorical_code(model) and is_classifier(extractor) and "code_accuracy" not in metrics:
        metrics = (*metrics, "code_accuracy")  # what an unsupervised code learned: which class each value draws
    return evaluate(model, data, metrics, args.n, args.split, extractor, args.seed)


def elbo_with_training_nets(model, slim_path: Path, args) -> dict:
    """The test -ELBO in nats per image (``nelbo_nats``) of ``--n`` images of ``--split``, measured on the training
    checkpoint before its training nets are left out: where the bound needs one of them (AVB's adversary estimates
    the KL term, Mescheder et al. 2017, eq. 11), the shipped file alone cannot give it."""
    from zoo.checkpoint import load_datamodule
    from zoo.metrics.likelihood import mean_nelbo
    from zoo.metrics.quality import real_images

    data = load_datamodule(slim_path, **({"data_dir": args.data_dir} if args.data_dir else {}))
    images = real_images(data, args.split, args.n)[0] * 2 - 1
    return {"nelbo_nats": round(mean_nelbo(model, images), 2),
            "nelbo_measured_on": "the training checkpoint, with the nets this release leaves out"}


def _registered(class_path: str):
    from zoo.registry import list_models

    return next((e for e in list_models() if e.class_path == class_path), None)


def _dataset_name(class_path: str | None) -> str:
    if not class_path:
        return "unknown"
    import importlib

    module, _, name = class_path.rpartition(".")
    try:
        return getattr(getattr(importlib.import_module(module), name), "name", name)
    except (ImportError, AttributeError):
        return name


def _as_config(hparams: dict, class_path: str | None) -> dict:
    """Stored hyper-parameters as a YAML-style ``{class_path, init_args}`` section."""
    init_args = {k: v for k, v in hparams.items() if not k.startswith("_")}
    return {"class_path": hparams.get("_class_path") or class_path,
            "init_args": json.loads(json.dumps(init_args, default=str))}


def _run_config(ckpt: Path) -> Path | None:
    """The ``config.yaml`` that ``zoo fit`` saved in the run folder of a checkpoint, if any."""
    for folder in (ckpt.parent, ckpt.parent.parent):
        if (folder / "config.yaml").is_file():
            return folder / "config.yaml"
    return None


def portable_run_config(text: str) -> str:
    """A run's ``config.yaml`` without the publisher's output locations: ``trainer.default_root_dir``, the loggers'
    ``save_dir`` and ``version`` and ``checkpoint.dirpath`` go back to their defaults, so ``zoo fit --config`` with
    the published file writes to a new run folder under ``runs/`` on the user's machine. The first comment line
    (the Lightning version) is kept."""
    import yaml

    config = yaml.safe_load(text) or {}
    trainer = config.get("trainer") or {}
    if "default_root_dir" in trainer:
        trainer["default_root_dir"] = None
    loggers = trainer.get("logger")
    for logger in loggers if isinstance(loggers, list) else [loggers]:
        if isinstance(logger, dict) and isinstance(logger.get("init_args"), dict):
            for key in ("save_dir", "version"):
                logger["init_args"].pop(key, None)
    if isinstance(config.get("checkpoint"), dict) and "dirpath" in config["checkpoint"]:
        config["checkpoint"]["dirpath"] = None
    header = text.splitlines()[0] + "\n" if text.startswith("#") else ""
    return header + yaml.safe_dump(config, sort_keys=False)


def _trainer_summary(run_config: Path | None) -> dict:
    if run_config is None:
        return {}
    import yaml

    config = yaml.safe_load(run_config.read_text()) or {}
    trainer = config.get("trainer") or {}
    keys = ("max_epochs", "max_steps", "precision", "accumulate_grad_batches")
    return {"seed_everything": config.get("seed_everything"),
            "trainer": {k: trainer.get(k) for k in keys if trainer.get(k) not in (None, -1)}}
