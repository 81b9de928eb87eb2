"""``zoo fit-prior``: fit a latent prior to a model's codes of its training images, into a copy of the checkpoint.

Ex-post density estimation: the codes ``latent_code(x)`` of the checkpoint's own training split (its data module,
rebuilt as ``zoo evaluate`` does; ``--images N`` takes a seeded random N of them) are fitted with

* ``--kind gmm``: a mixture of ``--components`` full-covariance Gaussians (Ghosh et al. 2020, "From Variational to
  Deterministic Autoencoders");
* ``--kind two-stage``: a second, small VAE on the codes with a learned decoder scale γ (Dai & Wipf 2019,
  "Diagnosing and Enhancing VAE Models"), ``--epochs`` of Adam at ``--lr``.

``--out`` gets the checkpoint with the prior added under ``checkpoint["zoo"]["latent_priors"]`` (written atomically;
the original is never modified; priors already there are kept, and one of the same kind is replaced). Fit several
kinds into one file one after another (``--ckpt A.ckpt --out B.ckpt``, then ``--ckpt B.ckpt --out C.ckpt``), then
``zoo sample --ckpt C.ckpt --prior gmm`` or ``model.sample(n, prior="two-stage")``.
"""

import argparse
import io
import time
from pathlib import Path

import torch

from zoo.arguments import ABOVE_0, AT_LEAST_1, SEED, CommandParser, check_memory, number
from zoo.commands.outputs import check_output
from zoo.progress import progress, shown
from zoo.runs import OutputFolderError
from zoo.sampling.latent_priors import GMM_COMPONENTS, KINDS, TWO_STAGE, fit_prior, latent_code_refusal

HELP = "fit a latent prior to a model's codes: zoo fit-prior --ckpt CKPT --kind gmm|two-stage --out NEW.ckpt"
ENCODE_BATCH = 500
"""Images encoded at once."""


def parser() -> CommandParser:
    """The arguments of ``zoo fit-prior``, with their types and ranges."""
    parser = CommandParser(prog="zoo fit-prior", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    count = number(int, AT_LEAST_1)
    parser.add_argument("--ckpt", required=True, help="checkpoint path, or the name of a published checkpoint")
    parser.add_argument("--kind", required=True, choices=KINDS, help="the prior to fit")
    parser.add_argument("--out", required=True, help="the new checkpoint: the original plus the fitted prior")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    parser.add_argument("--images", type=count, default=None,
                        help="encode a seeded random subset of this many training images (default: all)")
    parser.add_argument("--seed", type=number(int, SEED), default=0, help="seed of the subset and of the fit")
    parser.add_argument("--components", type=count, default=GMM_COMPONENTS, help="gmm: mixture components")
    parser.add_argument("--epochs", type=count, default=TWO_STAGE["epochs"],
                        help="two-stage: passes over the codes (Dai & Wipf train hundreds on a GPU)")
    parser.add_argument("--lr", type=number(float, ABOVE_0), default=TWO_STAGE["lr"], help="two-stage: Adam's lr")
    parser.add_argument("--batch-size", type=count, default=TWO_STAGE["batch_size"], help="two-stage: batch size")
    parser.add_argument("--hidden", type=count, default=TWO_STAGE["hidden"], help="two-stage: hidden layer width")
    parser.add_argument("--depth", type=count, default=TWO_STAGE["depth"], help="two-stage: hidden layers")
    parser.add_argument("--data-dir", default=None, help="override the data module's data_dir")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (none when not a terminal)")
    return parser


def run(argv: list[str]) -> None:
    args = parser().parse_args(argv)
    from zoo.checkpoint import load, load_datamodule, read_checkpoint
    from zoo.locate import locate
    from zoo.metrics.quality import real_images

    check_new_file(args.out, args.force)  # before anything is read, pulled or encoded
    source = locate(args.ckpt)
    check_output(args.out, "--out", inputs=(source,))
    model = load(source)
    if type(model).latent_code_obstacle() is not None:
        raise latent_code_refusal(model)
    checkpoint = read_checkpoint(source)
    data = load_datamodule(source, **({"data_dir": args.data_dir} if args.data_dir else {}))
    with shown(not args.no_progress):
        images = training_images(data, args.images, args.seed, real_images)
        codes = encode(model, images)
        del images
        start = time.perf_counter()
        options = ({"components": args.components} if args.kind == "gmm" else
                   {"epochs": args.epochs, "lr": args.lr, "batch_size": args.batch_size, "hidden": args.hidden,
                    "depth": args.depth, "progress": progress})
        prior = fit_prior(args.kind, codes, args.seed, **options)
    prior.fitted.update(images=len(codes), seed=args.seed, iteration=model.iteration, source=Path(source).name,
                        seconds=round(time.perf_counter() - start, 2))
    state = dict(checkpoint.get("zoo") or {})
    replaced = args.kind in (state.get("latent_priors") or {})
    state["latent_priors"] = {**(state.get("latent_priors") or {}), args.kind: prior.state()}
    write_checkpoint({**checkpoint, "zoo": state}, Path(args.out))
    print(f"fitted {prior.describe()} to the codes of {len(codes)} training images of {type(model).__name__} "
          f"(iteration {model.iteration}){' (replacing the one there)' if replaced else ''}: {summary(prior, codes)}")
    print(f"wrote {args.out} (priors: plain, {', '.join(state['latent_priors'])}); sample it with: zoo sample "
          f"--ckpt {args.out} --prior {args.kind}")


def check_new_file(path: str, force: bool) -> None:
    """Refuse an ``--out`` that exists (without ``--force``), is a folder, or cannot be written."""
    if Path(path).exists() and not Path(path).is_dir() and not force:
        raise OutputFolderError(f"--out {path} exists. Nothing was computed. Fix: give --out a new file, or add "
                                "--force to overwrite it.")
    check_output(path, "--out")


def training_images(data, limit: int | None, seed: int, real_images) -> torch.Tensor:
    """The training split's images in [-1, 1]: all of them, or a random ``limit`` of them drawn with ``seed``."""
    images = real_images(data, "train", 10**9)[0]
    check_memory(f"the training split ({len(images)} images)", 8.0 * images.numel(), "cap the images (--images N)")
    if limit is not None and limit < len(images):
        images = images[torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:limit]]
    return images * 2 - 1


@torch.no_grad()
def encode(model, images: torch.Tensor) -> torch.Tensor:
    """``model.latent_code`` of ``images`` (N, C, H, W) in [-1, 1], in eval mode and in batches: codes (N, D)."""
    model.eval()
    batches = images.split(ENCODE_BATCH)
    codes = [model.latent_code(batch.to(model.device)).float().cpu()
             for batch in progress(batches, f"encoding {len(images)} images", len(batches))]
    return torch.cat(codes)


def summary(prior, codes: torch.Tensor) -> str:
    """How well the prior fits the codes, in words."""
    if prior.kind == "gmm":
        nats = prior.log_prob(codes).mean().item()
        converged = "" if prior.fitted.get("converged", True) else " (EM stopped before converging)"
        return f"mean log-likelihood {nats:.2f} nats per code{converged}"
    losses = prior.fitted["losses"]
    return f"loss {losses[0]:.2f} -> {losses[-1]:.2f} nats per code over {len(losses)} epochs"


def write_checkpoint(checkpoint: dict, path: Path) -> None:
    """``torch.save`` into memory, then an atomic write beside ``path`` (no partial file on failure)."""
    from zoo.core.checkpoint_io import write_atomically

    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    try:
        write_atomically(buffer.getbuffer(), path)
    except OSError as error:
        raise OutputFolderError(f"could not write --out {path} ({error.strerror or error}); no partial file was left "
                                "and the original checkpoint is unchanged. Fix: free disk space, or give --out a "
                                "file in another folder.") from None
