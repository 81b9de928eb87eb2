"""``zoo evaluate``: FID/KID/IS/precision-recall/diversity/NLL of checkpoints, one JSON line each, stating how they
were made. ``diversity`` (1 - mean MS-SSIM of sample pairs, Rosca et al. 2017) comes with the split's own value and
a noised copy's, ``diversity[test]`` and ``diversity[test+noise]``, to read it against."""

import argparse
import json
from pathlib import Path

HELP = "score checkpoints: zoo evaluate --ckpt PATH [--metrics fid,kid,is,pr,diversity,nll] [--n 10000] [--split test]"


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="zoo evaluate", description=HELP)
    parser.add_argument("--ckpt", required=True, nargs="+", help="one or more checkpoints")
    parser.add_argument("--metrics", default="fid,kid,is,pr", help="comma-separated: fid, kid, is, pr, diversity, nll")
    parser.add_argument("--n", type=int, default=10_000, help="real and generated images per metric")
    parser.add_argument("--split", default="test", choices=["train", "val", "test"])
    parser.add_argument("--extractor", default=None,
                        help="fmnist-classifier, classifier:PATH or inception (default: by dataset)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--nll-k", type=int, default=1000, help="importance samples per image for nll")
    parser.add_argument("--nll-images", type=int, default=1000, help="test images scored for nll")
    parser.add_argument("--data-dir", default=None, help="override the data module's data_dir")
    parser.add_argument("--out", default=None, help="append the JSON lines to this file too")
    args = parser.parse_args(argv)
    from zoo.checkpoint import load, load_datamodule
    from zoo.metrics.features import default_extractor
    from zoo.metrics.quality import evaluate

    metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip())
    for path in args.ckpt:
        model = load(path)
        data = load_datamodule(path, **({"data_dir": args.data_dir} if args.data_dir else {}))
        extractor = args.extractor or default_extractor(data)
        result = {"checkpoint": str(path), **evaluate(model, data, metrics, args.n, args.split, extractor, args.seed,
                                                      args.nll_k, args.nll_images)}
        line = json.dumps(result)
        print(line, flush=True)
        if args.out:
            with Path(args.out).open("a") as file:
                file.write(line + "\n")
