"""``zoo evaluate``: FID/KID/IS/precision-recall/diversity/NLL of checkpoints, one JSON line each, stating how they
were made. ``diversity`` (1 - mean MS-SSIM of sample pairs, Rosca et al. 2017) comes with the split's own value and
a noised copy's, ``diversity[test]`` and ``diversity[test+noise]``, to read it against."""

import json
import math
from pathlib import Path

from zoo.arguments import AT_LEAST_1, SEED, CommandParser, check_memory, comma_list, number
from zoo.metrics.quality import METRICS
from zoo.runs import check_output_file

HELP = "score checkpoints: zoo evaluate --ckpt PATH [--metrics fid,kid,is,pr,diversity,nll] [--n 10000] [--split test]"


def parser() -> CommandParser:
    """The arguments of ``zoo evaluate``, with their types and ranges."""
    parser = CommandParser(prog="zoo evaluate", description=HELP)
    count = number(int, AT_LEAST_1)
    parser.add_argument("--ckpt", required=True, nargs="+", help="one or more checkpoints")
    parser.add_argument("--metrics", type=comma_list(METRICS), default=("fid", "kid", "is", "pr"),
                        help="comma-separated: fid, kid, is, pr, diversity, nll")
    parser.add_argument("--n", type=count, default=10_000, help="real and generated images per metric")
    parser.add_argument("--split", default="test", choices=["train", "val", "test"])
    parser.add_argument("--extractor", default=None,
                        help="fmnist-classifier, classifier:PATH or inception (default: by dataset)")
    parser.add_argument("--seed", type=number(int, SEED), default=0)
    parser.add_argument("--nll-k", type=count, default=1000, help="importance samples per image for nll")
    parser.add_argument("--nll-images", type=count, default=1000, help="test images scored for nll")
    parser.add_argument("--data-dir", default=None, help="override the data module's data_dir")
    parser.add_argument("--out", default=None, help="append the JSON lines to this file too")
    return parser


def run(argv: list[str]) -> None:
    args = parser().parse_args(argv)
    from zoo.checkpoint import load, load_datamodule
    from zoo.metrics.features import default_extractor
    from zoo.metrics.quality import evaluate

    if args.out:
        check_output_file(args.out, "--out")  # before any checkpoint is scored
    metrics = args.metrics
    for path in args.ckpt:
        model = load(path)
        pixels = math.prod(model.image_shape)
        check_memory(f"--n {args.n} (real and generated images of {model.image_shape})", 8.0 * args.n * pixels,
                     "score fewer images (--n)")
        if "nll" in metrics:
            check_memory(f"--nll-k {args.nll_k} (importance samples per image of {model.image_shape})",
                         4.0 * args.nll_k * pixels, "use fewer importance samples (--nll-k)")
        data = load_datamodule(path, **({"data_dir": args.data_dir} if args.data_dir else {}))
        extractor = args.extractor or default_extractor(data)
        result = {"checkpoint": str(path), **evaluate(model, data, metrics, args.n, args.split, extractor, args.seed,
                                                      args.nll_k, args.nll_images)}
        line = json.dumps(result)
        print(line, flush=True)
        if args.out:
            with Path(args.out).open("a") as file:
                file.write(line + "\n")
