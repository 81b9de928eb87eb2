"""``zoo pull``: fetch published checkpoints into the cache (verified by sha256), or list them.

URLs are cached in ``$TORCH_HOME/hub/zoo`` (by default ``~/.cache/torch/hub/zoo``), Hugging Face Hub files in
huggingface_hub's cache (``$HF_HUB_CACHE``; ``HF_HUB_OFFLINE=1`` serves it without network). A second pull is a cache
hit; a cached file that changed on disk is fetched again. Checkpoints shipped inside the package are verified in place.
Every command that takes ``--ckpt`` (and ``zoo.load``) accepts these names too.
"""

import argparse

from zoo.arguments import CommandParser

HELP = "download a published checkpoint into the cache: zoo pull NAME [--force] | zoo pull --list"


def parser() -> CommandParser:
    """The arguments of ``zoo pull``, with their types and ranges."""
    parser = CommandParser(prog="zoo pull", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME", help="published checkpoint name(s), e.g. vae_fashion_mnist")
    parser.add_argument("--list", action="store_true", help="list the published checkpoints and their metrics")
    parser.add_argument("--force", action="store_true", help="download again even if the cache holds a good copy")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def run(argv: list[str]) -> None:
    args = parser().parse_args(argv)
    from zoo.pretrained import cache_dir, list_pretrained, pull

    if args.list or not args.names:
        _print_list(list_pretrained(), cache_dir())
        if not args.names:
            return
    for name in args.names:
        path = pull(name, force=args.force, progress=not args.quiet)
        print(f"{name}: {path}", flush=True)


def _print_list(entries, cache) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"published checkpoints (cache: {cache}); zoo.load(NAME) takes a name or an alias")
    for column in ("name (aliases)", "config", "model", "dataset", "training", "size", "where", "metrics", "licence"):
        table.add_column(column)
    for entry in entries:
        where = "shipped" if entry.file else ("hf:" + entry.hf["repo"] if entry.hf else entry.url)
        name = entry.name + (f" ({', '.join(entry.aliases)})" if entry.aliases else "")
        table.add_row(name, entry.config_file or "–", entry.model, entry.dataset, _training(entry.training),
                      f"{entry.size / 1e6:.1f} MB", where, _headline(entry.metrics), entry.license)
    Console(width=200).print(table)


def _training(training: dict) -> str:
    """Iterations, the verdict of zoo's rule (:mod:`zoo.metrics.convergence`) and the published iteration, in one
    cell."""
    from zoo.metrics.convergence import verdict_of

    curve, published = training.get("convergence"), training.get("published") or {}
    judged = f", {verdict_of(curve)}" if curve else ""
    at = (f", published at {published['iteration']}" if published.get("iteration") not in (None, training.get("iterations"))
          else "")
    return f"{training.get('iterations', '?')} it{judged}{at}"


def _headline(metrics: dict) -> str:
    """FID / precision / recall and how they were measured, in one cell."""
    shown = [f"{key.split('[')[0]} {value:.3g}" for key, value in metrics.items()
             if key.split("[")[0] in ("fid", "kid", "is", "precision", "recall", "classes")
             and isinstance(value, (int, float))]
    if not shown:
        return ""
    how = f" ({metrics.get('extractor')}, n={metrics.get('n_generated')})" if metrics.get("extractor") else ""
    return ", ".join(shown) + how
