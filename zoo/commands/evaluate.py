"""``zoo evaluate``: FID/KID/IS/precision-recall/diversity/NLL of checkpoints, one JSON line each, stating how they
were made. ``diversity`` (1 - mean MS-SSIM of sample pairs, Rosca et al. 2017) comes with the split's own value and
a noised copy's, ``diversity[test]`` and ``diversity[test+noise]``, to read it against. ``code_accuracy`` (models
with a categorical latent code, InfoGAN): how well the code's values match the classifier's classes, with the
assignment (:mod:`zoo.metrics.codes`). ``accuracy``, ``ifid`` and ``cas`` (class-conditional models): the
classifier's accuracy on samples asked for each class, intra-class FID, and the classification accuracy score of a
classifier trained on samples only (:mod:`zoo.metrics.conditional`)."""

import json
import math
from pathlib import Path

from zoo.arguments import (AT_LEAST_1, SEED, CommandParser, InvalidArgument, check_memory, comma_list, named_choice,
                           number)
from zoo.commands.outputs import check_output
from zoo.metrics.conditional import CAS_EPOCHS
from zoo.metrics.quality import METRICS, check_counts
from zoo.progress import shown

SCORES = ("fid", "kid", "is", "precision", "recall", "diversity", "classes", "nll_nats", "code_accuracy", "accuracy",
          "accuracy_per_class", "accuracy_real", "ifid", "ifid_per_class", "cas", "cas_real", "cas_ratio",
          "cas_per_class")
"""The result keys (without the extractor tag) that are scores, so must be finite (per-class ones in every class)."""
NO_EXTRACTOR = {"nll", "diversity", "cas"}
"""Metrics that need no feature extractor: the likelihood, pixel-space MS-SSIM and a classifier trained afresh."""


class NonFiniteMetric(InvalidArgument):
    """A metric came out NaN or infinite."""

HELP = ("score checkpoints: zoo evaluate --ckpt PATH [--metrics fid,kid,is,pr,diversity,nll,accuracy,ifid,cas] "
        "[--n 10000] [--split test]")


def parser() -> CommandParser:
    """The arguments of ``zoo evaluate``, with their types and ranges."""
    parser = CommandParser(prog="zoo evaluate", description=HELP)
    count = number(int, AT_LEAST_1)
    parser.add_argument("--ckpt", required=True, nargs="+", help="one or more checkpoints")
    parser.add_argument("--metrics", type=comma_list(METRICS), default=("fid", "kid", "is", "pr"),
                        help="comma-separated: fid, kid, is, pr, diversity, classes, nll, code_accuracy (models "
                             "with a categorical code: the best one-to-one match of its values to the classifier's "
                             "classes, --n images spread over the values), and for class-conditional models "
                             "accuracy (the classifier's on samples asked for each class), ifid (intra-class FID) "
                             "and cas (classification accuracy score: a classifier trained on samples, tested on "
                             "real images); each class gets ceil(n / classes) samples")
    parser.add_argument("--n", type=count, default=10_000, help="real and generated images per metric")
    parser.add_argument("--split", default="test", choices=["train", "val", "test"])
    parser.add_argument("--extractor", default=None,
                        help="fmnist-classifier, classifier:PATH or inception (default: by dataset)")
    parser.add_argument("--seed", type=number(int, SEED), default=0)
    parser.add_argument("--nll-k", type=count, default=1000, help="importance samples per image for nll")
    parser.add_argument("--nll-images", type=count, default=1000, help="test images scored for nll")
    parser.add_argument("--cas-epochs", type=count, default=CAS_EPOCHS, help="cas: epochs of each classifier over "
                        "the samples (and over as many real training images for the reference)")
    parser.add_argument("--data-dir", default=None, help="override the data module's data_dir")
    parser.add_argument("--out", default=None, help="append the JSON lines to this file too")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (none when not a terminal)")
    return parser


def run(argv: list[str]) -> None:
    args = parser().parse_args(argv)
    from zoo.checkpoint import load, load_datamodule
    from zoo.metrics.codes import check_code_extractor
    from zoo.metrics.conditional import check_conditional_request
    from zoo.metrics.features import check_extractor_name, default_extractor, get_extractor
    from zoo.metrics.evaluation import evaluate

    check_counts(tuple(m for m in args.metrics if m != "nll"), args.n)
    if args.extractor:
        named_choice("--extractor", check_extractor_name, args.extractor)
    if args.out:
        check_output(args.out, "--out", inputs=tuple(args.ckpt))  # before any checkpoint is scored
    jobs = []
    for path in args.ckpt:  # every checkpoint is checked before the first is scored
        model = load(path)
        _check_requests(model, args)
        data = load_datamodule(path, **({"data_dir": args.data_dir} if args.data_dir else {}))
        extractor = args.extractor or default_extractor(data)
        if "code_accuracy" in args.metrics:
            check_code_extractor(extractor)
        check_conditional_request(model, data, args.metrics, args.n, args.split, extractor)
        if set(args.metrics) - NO_EXTRACTOR:
            named_choice("--extractor", get_extractor, extractor, tuple(model.image_shape))
        jobs.append((path, model, data, extractor))
    with shown(not args.no_progress):
        for path, model, data, extractor in jobs:
            result = {"checkpoint": str(path), **evaluate(model, data, args.metrics, args.n, args.split, extractor,
                                                          args.seed, args.nll_k, args.nll_images, args.cas_epochs)}
            _check_finite(result, args)
            line = json.dumps(result)
            print(line, flush=True)
            if args.out:
                with Path(args.out).open("a") as file:
                    file.write(line + "\n")


def _check_requests(model, args) -> None:
    """Refuse what ``model`` cannot do or this machine cannot hold, before any work."""
    from zoo.metrics.codes import check_code_accuracy
    from zoo.metrics.conditional import check_conditional
    from zoo.metrics.likelihood import supports_nll

    pixels = math.prod(model.image_shape)
    check_memory(f"--n {args.n} (real and generated images of {model.image_shape})", 8.0 * args.n * pixels,
                 "score fewer images (--n)")
    if "nll" in args.metrics:
        if not supports_nll(model):
            raise InvalidArgument(f"--metrics nll: {type(model).__name__} has no tractable likelihood (the IWAE bound "
                                  "needs a Gaussian encoder and a decoder likelihood, as the VAEs have). Fix: leave "
                                  "nll out of --metrics for this checkpoint.")
        check_memory(f"--nll-k {args.nll_k} (importance samples per image of {model.image_shape})",
                     4.0 * args.nll_k * pixels, "use fewer importance samples (--nll-k)")
    if "code_accuracy" in args.metrics:
        check_code_accuracy(model)
    check_conditional(model, args.metrics)


def _check_finite(result: dict, args) -> None:
    """Stop on a metric that came out NaN or infinite (stored as null), naming what to change."""
    broken = [key for key, value in result.items() if key.split("[")[0] in SCORES and (
        value is None or isinstance(value, dict) and None in value.values())]
    if broken:
        raise NonFiniteMetric(f"{', '.join(broken)} of {result['checkpoint']} is not a finite number (--n {args.n}). "
                              "Fix: give more images (--n), or check the checkpoint's samples (`zoo sample`): a "
                              "model that makes NaN images scores none.")
