"""``zoo sample``: images from a checkpoint alone, in one of several modes.

Modes: ``plain`` samples; ``interpolate`` (slerp, or lerp with --interpolation lerp) strips between random latents;
``reconstruct`` test images and their reconstructions (encoder models); ``arithmetic`` class-mean codes
a - b + c (encoder models); ``neighbours`` each sample beside its nearest training images (memorisation check);
``drs`` Discriminator Rejection Sampling and ``ddls`` Discriminator-Driven Latent Sampling, for the models whose
discriminator estimates the log density ratio (DRS, DDLS) or an energy (DDLS); others are refused, naming the modes
that apply.
"""

import argparse
from pathlib import Path

import torch

from zoo.sampling.modes import MODES

HELP = "write a grid of samples from a checkpoint: zoo sample --ckpt PATH --n 64 --out grid.png [--mode ...]"


def run(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="zoo sample", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", required=True, help="checkpoint path")
    parser.add_argument("--mode", default="plain", choices=MODES)
    parser.add_argument("--n", type=int, default=64, help="number of samples (rows for interpolate/neighbours)")
    parser.add_argument("--out", default="samples.png", help="output PNG")
    parser.add_argument("--seed", type=int, default=0, help="seed of the latent noise")
    parser.add_argument("--nrow", type=int, default=8, help="images per row (plain, drs, ddls, reconstruct)")
    parser.add_argument("--steps", type=int, default=10, help="interpolation steps, or Langevin steps (ddls)")
    parser.add_argument("--interpolation", default="slerp", choices=["slerp", "lerp"])
    parser.add_argument("--classes", default="0,1,2", help="a,b,c for arithmetic: mean(a) - mean(b) + mean(c)")
    parser.add_argument("--k", type=int, default=5, help="neighbours per sample")
    parser.add_argument("--gamma-quantile", type=float, default=0.8, help="DRS: quantile of F used as gamma")
    parser.add_argument("--step-size", type=float, default=0.01, help="DDLS: Langevin step size")
    parser.add_argument("--data-dir", default=None, help="override the data module's data_dir")
    args = parser.parse_args(argv)
    from torchvision.utils import save_image

    from zoo.checkpoint import load

    if args.n < 1 or args.steps < 1 or args.k < 1 or args.nrow < 1:
        raise SystemExit(f"zoo sample: --n, --steps, --k and --nrow must be >= 1, got {args.n}, {args.steps}, "
                         f"{args.k}, {args.nrow}")
    model = load(args.ckpt)
    torch.manual_seed(args.seed)
    from zoo.sampling.rejection import LowAcceptanceError

    try:
        images, nrow = _images(model, args)
    except (ValueError, LowAcceptanceError) as error:  # a sampler that does not apply, a setting out of range
        raise SystemExit(f"zoo sample: {error}") from None
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    save_image(images, args.out, nrow=nrow, padding=2, pad_value=1.0)
    print(f"wrote {len(images)} images ({args.mode}) of {type(model).__name__} to {args.out}")


def _images(model, args) -> tuple[torch.Tensor, int]:
    if args.mode == "plain":
        return model.sample(args.n, seed=args.seed), args.nrow
    if args.mode == "interpolate":
        from zoo.sampling.latent import interpolation_strips

        return interpolation_strips(model, args.n, args.steps, args.interpolation, args.seed), args.steps
    if args.mode == "drs":
        from zoo.sampling.rejection import drs_for_model

        sampler = drs_for_model(model, gamma_quantile=args.gamma_quantile)
        images = sampler.sample(args.n, torch.Generator().manual_seed(args.seed))
        print(f"DRS acceptance rate {sampler.acceptance_rate:.3f}")
        return ((images.float() + 1) / 2).clamp(0, 1), args.nrow
    if args.mode == "ddls":
        from zoo.sampling.langevin import ddls_sample

        return ddls_sample(model, args.n, args.steps * 10, args.step_size, seed=args.seed), args.nrow
    real, labels = _data(args)
    if args.mode == "reconstruct":
        if not hasattr(model, "reconstruct"):
            raise SystemExit(f"zoo sample: {type(model).__name__} has no encoder to reconstruct with")
        x = real[: args.n] * 2 - 1
        with torch.no_grad():
            recon = ((model.reconstruct(x).float() + 1) / 2).clamp(0, 1)
        pairs = [torch.cat([o, r]) for o, r in zip(real[: args.n].split(args.nrow), recon.split(args.nrow))]
        return torch.cat(pairs), args.nrow
    if args.mode == "arithmetic":
        from zoo.sampling.latent import latent_arithmetic

        a, b, c = (int(v) for v in args.classes.split(","))
        return latent_arithmetic(model, real * 2 - 1, labels, a, b, c), 4
    from zoo.sampling.neighbours import neighbour_panel

    return neighbour_panel(model.sample(args.n, seed=args.seed), real, args.k), args.k + 1


def _data(args) -> tuple[torch.Tensor, torch.Tensor]:
    """Images in [0, 1] and labels: the test split for reconstruct/arithmetic, the training split for neighbours."""
    from zoo.checkpoint import load_datamodule
    from zoo.metrics.quality import real_images

    data = load_datamodule(args.ckpt, **({"data_dir": args.data_dir} if args.data_dir else {}))
    split = "train" if args.mode == "neighbours" else "test"
    return real_images(data, split, 60_000 if split == "train" else 10_000)
