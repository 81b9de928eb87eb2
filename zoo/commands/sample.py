"""``zoo sample``: images from a checkpoint alone, in one of several modes.

Modes: ``plain`` samples; ``interpolate`` (slerp, or lerp with --interpolation lerp) strips between random latents;
``reconstruct`` test images and their reconstructions (encoder models); ``arithmetic`` class-mean codes
a - b + c (encoder models); ``codes`` one latent code varied at a time, the rest fixed (models with codes, e.g.
InfoGAN: a row per categorical value, then --steps rows sweeping each continuous code from -2 to 2; --n columns,
each its own noise); ``classes`` (or ``--class-grid``) one row per class of a conditional model, the same noise down
each column (--n columns); ``neighbours`` each sample beside its nearest training images (memorisation check);
``drs`` Discriminator Rejection Sampling (calibrated on held-out validation images unless --no-calibrate) and ``ddls``
Discriminator-Driven Latent Sampling (--steps Langevin steps; it prints whether the chains have settled), for the
models whose discriminator estimates the log density ratio (DRS, DDLS) or an energy (DDLS); others are refused,
naming the modes that apply.

A conditional model (``zoo list``: cgan, acgan, cgan_pd, cvae) draws its classes uniformly (attributes: at their
training frequencies) unless ``--class`` names one: a class name (any case) or index, or for an attribute model
(CelebA) attribute names joined by commas (``--class male,smiling``); it applies to plain, interpolate (strips
within the class), neighbours, and drs and ddls, which sample each class by its own density ratio where the
discriminator D(x, y) estimates log p_data(x | y)/p_g(x | y) (cgan, and cgan_pd under a logistic or least-squares
loss). Asking an unconditional model for a class or a class grid, or a model for a class
it does not know, is refused before any sampling.

``--prior`` draws the latents of plain, interpolate and neighbours from a prior fitted to the model's codes after
training (``zoo fit-prior``: ``gmm``, ``two-stage``) instead of the model's own (``plain``, the default).
"""

import argparse

import torch

from zoo.arguments import ABOVE_0, AT_LEAST_1, SEED, UNIT, CommandParser, InvalidArgument, check_memory, number
from zoo.checkpoint import CheckpointError
from zoo.commands.footprint import CHUNK, sample_bytes
from zoo.commands.outputs import check_output, image_suffixes
from zoo.core.base import to_unit_range
from zoo.metrics.quality import generated_images
from zoo.progress import progress, shown
from zoo.sampling.langevin import STEP_SIZE, STEPS
from zoo.sampling.codes import grid_rows
from zoo.sampling.labels import labels_refusal, resolve_labels
from zoo.sampling.modes import MODES, SamplerNotApplicable, applicable_modes, check_mode, codes_refusal

INTERPOLATION_STEPS = 10
CODES_COLUMNS = 10
CLASS_MODES = ("plain", "interpolate", "neighbours", "drs", "ddls")
"""The modes ``--class`` applies to."""
PRIOR_MODES = ("plain", "interpolate", "neighbours")
"""The modes that draw latents from a prior, so ``--prior`` applies to them."""
HELP = "write a grid of samples from a checkpoint: zoo sample --ckpt PATH --n 64 --out grid.png [--mode ...]"


def parser() -> CommandParser:
    """The arguments of ``zoo sample``, with their types and ranges."""
    parser = CommandParser(prog="zoo sample", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    count = number(int, AT_LEAST_1)
    parser.add_argument("--ckpt", required=True, help="checkpoint path")
    parser.add_argument("--mode", default="plain", choices=MODES)
    parser.add_argument("--n", type=count, default=None,
                        help=f"number of samples (rows for interpolate/neighbours, columns for codes and classes; "
                             f"default 64, {CODES_COLUMNS} for codes and classes)")
    parser.add_argument("--out", default="samples.png", help="output image (.png, .jpg, ...)")
    parser.add_argument("--seed", type=number(int, SEED), default=0, help="seed of the latent noise")
    parser.add_argument("--nrow", type=count, default=8, help="images per row (plain, drs, ddls, reconstruct)")
    parser.add_argument("--steps", type=count, default=None,
                        help=f"interpolation steps and codes' sweep steps (default {INTERPOLATION_STEPS}), or Langevin "
                             f"steps (ddls, default {STEPS})")
    parser.add_argument("--interpolation", default="slerp", choices=["slerp", "lerp"])
    parser.add_argument("--classes", type=_classes, default=(0, 1, 2),
                        help="a,b,c for arithmetic: mean(a) - mean(b) + mean(c)")
    parser.add_argument("--class", dest="label", default=None, metavar="CLASS",
                        help="a conditional model's class: a name (any case) or an index; for an attribute model, "
                             "attribute names joined by commas (male,smiling); modes: " + ", ".join(CLASS_MODES))
    parser.add_argument("--class-grid", action="store_true",
                        help="one row per class of a conditional model, the same noise down each column (--mode "
                             "classes; --n columns)")
    parser.add_argument("--prior", default="plain",
                        help="where the latents come from: plain (the model's own prior) or a prior fitted to its "
                             "codes by `zoo fit-prior` (gmm, two-stage); modes: " + ", ".join(PRIOR_MODES))
    parser.add_argument("--k", type=count, default=5, help="neighbours per sample")
    parser.add_argument("--gamma-quantile", type=number(float, UNIT), default=0.8,
                        help="DRS: quantile of F used as gamma")
    parser.add_argument("--calibrate", action=argparse.BooleanOptionalAction, default=True,
                        help="DRS: calibrate the discriminator on held-out validation images first (Azadi et al.)")
    parser.add_argument("--calibration-n", type=count, default=1000, help="DRS: held-out images to calibrate on")
    parser.add_argument("--step-size", type=number(float, ABOVE_0), default=STEP_SIZE, help="DDLS: Langevin step size")
    parser.add_argument("--data-dir", default=None, help="override the data module's data_dir")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (none when not a terminal)")
    return parser


def run(argv: list[str]) -> None:
    args = parser().parse_args(argv)
    if args.class_grid:
        if args.mode not in ("plain", "classes"):
            raise InvalidArgument(f"--class-grid is --mode classes; it does not combine with --mode {args.mode}. "
                                  "Fix: give one of them.")
        args.mode = "classes"
    if args.steps is None:
        args.steps = STEPS if args.mode == "ddls" else INTERPOLATION_STEPS
    if args.n is None:
        args.n = CODES_COLUMNS if args.mode in ("codes", "classes") else 64
    from torchvision.utils import save_image

    from zoo.checkpoint import load

    check_output(args.out, "--out", inputs=(args.ckpt,), suffixes=image_suffixes())  # before loading or sampling
    model = load(args.ckpt)
    args.labels = asked_labels(model, args)  # refusals of --class / --class-grid, before any work
    check_prior_request(model, args)
    check_mode(model, args.mode)  # a mode the model refuses for a reason of its own (VQ-VAE: interpolate, ...)
    if args.mode in ("reconstruct", "arithmetic") and args.mode not in applicable_modes(model):
        reason = ("its code leaves out the class it is conditioned on, so class means of codes hold no class to add "
                  "or subtract" if model.conditional else "it has no encoder")
        raise SamplerNotApplicable(f"{args.mode} does not apply to {type(model).__name__}: {reason}; "
                                   f"modes that apply: {', '.join(applicable_modes(model))}")
    if args.mode in ("drs", "ddls") and args.mode not in model.density_samplers():
        raise model.sampler_refusal(args.mode)
    images_per_row = {"interpolate": args.steps, "reconstruct": 2, "neighbours": args.k + 1}.get(args.mode, 1)
    if args.mode == "codes":  # --n columns, each as tall as the grid
        if model.latent_codes() is None:
            raise codes_refusal(model)
        images_per_row = grid_rows(model.latent_codes(), args.steps)
    if args.mode == "classes":  # --n columns, a row per class
        images_per_row = model.num_classes
    data_images = {"neighbours": 60_000, "reconstruct": 10_000, "arithmetic": 10_000}.get(args.mode, 0)
    check_memory(f"--n {args.n} ({args.mode}, {images_per_row} image(s) each of {model.image_shape})",
                 sample_bytes(model, args.mode, args.n, images_per_row, data_images), "ask for fewer images (--n)")
    torch.manual_seed(args.seed)
    try:
        with shown(not args.no_progress):
            images, nrow = _images(model, args)
    except (SamplerNotApplicable, InvalidArgument):  # zoo's own refusals name the flag already
        raise
    except ValueError as error:  # a sampler's setting out of range for this model
        raise InvalidArgument(f"zoo sample --mode {args.mode}: {error}") from None
    check_finite_samples(images, args)
    save_image(images, args.out, nrow=nrow, padding=2, pad_value=1.0)
    prior = "" if args.prior == "plain" else f", prior {args.prior}"
    print(f"wrote {len(images)} images ({args.mode}{prior}) of {type(model).__name__} to {args.out}")


class NonFiniteSamples(InvalidArgument):
    """A sampler returned NaN or infinite pixels (a diverged Langevin chain, or broken weights)."""


def check_finite_samples(images: torch.Tensor, args) -> None:
    """Stop before writing images with non-finite pixels (they would be saved as blank), naming what to change."""
    bad = (~torch.isfinite(images.flatten(1))).any(1).sum().item()
    if not bad:
        return
    fix = {"ddls": f"lower --step-size (now {args.step_size:g}; 0.01 is the paper's) or take fewer --steps",
           "drs": "use another --gamma-quantile or --mode plain"}.get(
        args.mode, "use an earlier checkpoint of the run (this one makes NaN images)")
    raise NonFiniteSamples(f"zoo sample --mode {args.mode}: {bad} of {len(images)} images hold NaN or infinite pixels; "
                           f"nothing was written. Fix: {fix}.")


def asked_labels(model, args):
    """The one label ``--class`` asks for ((1,) or (1, k)), or None; refuses a class or a class grid for an
    unconditional model, ``--class`` with a mode it does not apply to, and a class the model does not know."""
    if args.mode == "classes" and not model.conditional:
        raise labels_refusal(model, "class grid (--class-grid)")
    if args.label is None:
        return None
    if not model.conditional:
        raise labels_refusal(model, "class (--class)")
    if args.mode not in CLASS_MODES:
        grid = " (the grid shows every class)" if args.mode == "classes" else ""
        raise InvalidArgument(f"--class applies to --mode {', '.join(CLASS_MODES)}, not {args.mode}{grid}. Fix: "
                              "leave --class out, or choose one of those modes.")
    asked = args.label.split(",") if model.label_kind == "attributes" else args.label
    return resolve_labels(model, asked, 1)


def check_prior_request(model, args) -> None:
    """Refuse ``--prior`` with a mode that draws no latents from a prior, and a prior the checkpoint does not hold."""
    from zoo.sampling.latent_priors import PLAIN, check_prior

    if args.prior == PLAIN:
        return
    if args.mode not in PRIOR_MODES:
        raise InvalidArgument(f"--prior applies to --mode {', '.join(PRIOR_MODES)}, not {args.mode} (it draws no "
                              "latents from a prior). Fix: leave --prior out, or choose one of those modes.")
    check_prior(model, args.prior)


def _prior(args) -> dict:
    """``prior=`` for the samplers when ``--prior`` names a fitted one; nothing for the model's own."""
    return {} if args.prior == "plain" else {"prior": args.prior}


def _classes(text: str) -> tuple[int, int, int]:
    """``a,b,c``: three class indices."""
    try:
        a, b, c = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected three class indices a,b,c, got {text!r}") from None
    if min(a, b, c) < 0:
        raise argparse.ArgumentTypeError(f"class indices must be >= 0, got {text}")
    return a, b, c


def _images(model, args) -> tuple[torch.Tensor, int]:
    if args.mode == "plain":
        return generated_images(model, args.n, args.seed, CHUNK, labels=_every(args.labels, args.n),
                                **_prior(args)), args.nrow
    if args.mode == "interpolate":
        from zoo.sampling.latent import interpolation_strips

        return (interpolation_strips(model, args.n, args.steps, args.interpolation, args.seed, args.labels,
                                     **_prior(args)), args.steps)
    if args.mode == "classes":
        from zoo.sampling.classes import class_grid

        return class_grid(model, args.n, args.seed), args.n
    if args.mode == "codes":
        from zoo.sampling.codes import code_grid

        return code_grid(model, args.n, args.steps, args.seed), args.n
    if args.mode == "drs":
        return _drs(model, args), args.nrow
    if args.mode == "ddls":
        from zoo.sampling.langevin import ddls

        images = []
        for i, count in enumerate(_chunks(args.n, "DDLS chains")):  # chunk i: seed + i
            chunk, run = ddls(model, count, args.steps, args.step_size, seed=args.seed + i, labels=args.labels)
            if run.diverged:  # the chains left where the energy is finite: no verdict on settling, one error
                raise NonFiniteSamples(
                    f"zoo sample --mode ddls: the Langevin chains diverged ({run.refused} of {run.steps * count} moves "
                    f"landed where the energy is NaN or infinite); nothing was written. Fix: lower --step-size "
                    f"(now {args.step_size:g}; 0.01 is the paper's).")
            print(f"DDLS: {run.summary()}")
            images.append(chunk)
        return torch.cat(images), args.nrow
    split = "train" if args.mode == "neighbours" else "test"
    real, labels = _data(args, split, 60_000 if split == "train" else 10_000)
    if args.mode == "reconstruct":
        x = real[: args.n] * 2 - 1
        condition = (labels[: args.n].to(model.device),) if model.conditional else ()  # a CVAE's: the images' own
        with torch.no_grad():
            recon = to_unit_range(model.reconstruct(x.to(model.device), *condition)).cpu()
        pairs = [torch.cat([o, r]) for o, r in zip(real[: args.n].split(args.nrow), recon.split(args.nrow))]
        return torch.cat(pairs), args.nrow
    if args.mode == "arithmetic":
        from zoo.sampling.latent import latent_arithmetic

        a, b, c = args.classes
        return latent_arithmetic(model, real * 2 - 1, labels, a, b, c), 4
    from zoo.sampling.neighbours import neighbour_panel

    if args.k > len(real):
        raise InvalidArgument(f"--k {args.k} asks for more neighbours than the {len(real)} training images of the "
                              f"checkpoint's data. Fix: give --k {len(real)} or fewer.")
    samples = generated_images(model, args.n, args.seed, CHUNK, labels=_every(args.labels, args.n), **_prior(args))
    return neighbour_panel(samples, real, args.k), args.k + 1


def _drs(model, args) -> torch.Tensor:
    """DRS samples in [0, 1], calibrated on held-out images unless --no-calibrate; a conditional model's per class
    (one sampler per class asked for or drawn, calibrated on that class's held-out images)."""
    from zoo.sampling.rejection import drs_for_model, drs_per_class

    model.require_sampler("drs")  # before loading any data
    try:
        held_out, held_out_labels = _data(args, "val", args.calibration_n) if args.calibrate else (None, None)
    except CheckpointError as error:
        raise CheckpointError(f"{error} DRS calibrates the discriminator on held-out images of that data. Fix: "
                              "give a checkpoint saved by `zoo fit`, or sample with --no-calibrate.") from None
    generator = torch.Generator().manual_seed(args.seed)
    if model.conditional:
        labels = resolve_labels(model, args.labels, args.n, generator)  # --class, or drawn like plain samples
        images, samplers = drs_per_class(model, labels, generator, args.gamma_quantile, held_out, held_out_labels)
        proposed = sum(s.proposed for s in samplers.values())
        rate = sum(s.accepted for s in samplers.values()) / max(1, proposed)
        calibration = (f"each class calibrated on its held-out images of {len(held_out)}" if held_out is not None
                       else "not calibrated")
        print(f"DRS acceptance rate {rate:.3f} over {len(samplers)} class(es) ({calibration})")
        return to_unit_range(images)
    sampler = drs_for_model(model, gamma_quantile=args.gamma_quantile, held_out=held_out)
    images = torch.cat([sampler.sample(count, generator) for count in _chunks(args.n, "DRS")])
    calibration = (f"calibrated on {len(held_out)} held-out images: log ratio = {sampler.scale:.3f}·d "
                   f"{sampler.shift:+.3f}" if held_out is not None else "not calibrated")
    unscored = f"; {sampler.unscored} candidates had no ratio and were rejected" if sampler.unscored else ""
    print(f"DRS acceptance rate {sampler.acceptance_rate:.3f} ({calibration}{unscored})")
    return to_unit_range(images)


def _every(label, n: int):
    """One label repeated for ``n`` images, or None."""
    return None if label is None else label.expand(n, *label.shape[1:])


def _chunks(n: int, description: str):
    """``n`` as counts of at most :data:`CHUNK`, a progress bar advancing as they are taken."""
    counts = [min(CHUNK, n - start) for start in range(0, n, CHUNK)]
    return progress(counts, description, len(counts))


def _data(args, split: str, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n`` images in [0, 1] and labels of the checkpoint's data ``split``: test for reconstruct and
    arithmetic, train for neighbours, val (held out from training) for DRS's calibration."""
    from zoo.checkpoint import load_datamodule
    from zoo.metrics.quality import real_images

    data = load_datamodule(args.ckpt, **({"data_dir": args.data_dir} if args.data_dir else {}))
    return real_images(data, split, n)
