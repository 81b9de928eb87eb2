"""Nets that a published checkpoint leaves out because only training uses them (e.g. BiGAN's joint discriminator).

A published checkpoint is for sampling and encoding: it already drops the optimiser states, so it cannot resume
training. Dropping the nets that only the training losses call as well keeps the file small (a model zoo ships
its generators, not its critics). The model declares them (:meth:`~zoo.core.base.GenerativeModel.training_only_nets`),
``zoo publish`` leaves them out and records which, and :func:`zoo.load` puts an :class:`OmittedNet` in their place,
which says what is missing and why wherever it is called.
"""

from torch import nn

from zoo.checkpoint_errors import CheckpointError

OMITTED_KEY = "omitted_nets"
"""Where a checkpoint's ``zoo`` state lists the nets it leaves out."""


class OmittedNetError(CheckpointError):
    """A net left out of a published checkpoint was called."""


class OmittedNet(nn.Module):
    """Stands in for a net that a published checkpoint leaves out: calling it, or any of its methods, raises
    :class:`OmittedNetError` naming the net and the fix. It holds no weights."""

    def __init__(self, model: str, net: str):
        super().__init__()
        self.model, self.net = model, net

    def _refuse(self) -> OmittedNetError:
        return OmittedNetError(
            f"this {self.model} was loaded from a published checkpoint, which leaves out its {self.net!r} net: only "
            f"training uses it, and publishing drops it to keep the file small. Sampling and encoding work; training, "
            f"validation and what needs the {self.net} do not. Fix: train the model yourself (`zoo fit --config "
            "<its config name>.yaml`, the config named in `zoo pull --list`) and use that run's checkpoint."
        )

    def forward(self, *args, **kwargs):
        raise self._refuse()

    def __getattr__(self, name: str):
        if name.startswith("_") or name in ("model", "net"):
            return super().__getattr__(name)
        raise self._refuse()


def without_nets(state_dict: dict, nets: tuple[str, ...]) -> dict:
    """``state_dict`` without the tensors of ``nets`` (attribute names of the model)."""
    return {k: v for k, v in state_dict.items() if k.split(".", 1)[0] not in nets}


def stand_in_for(model: nn.Module, nets: list[str]) -> None:
    """Replace ``model``'s ``nets`` by :class:`OmittedNet` (their weights are not in the checkpoint)."""
    declared = set(getattr(model, "training_only_nets", lambda: ())())
    unknown = [net for net in nets if net not in declared]
    if unknown:
        raise CheckpointError(
            f"the checkpoint leaves out {unknown}, which {type(model).__name__} needs beyond training (it may omit "
            f"only {sorted(declared) or 'none'}): it was not written by this version of zoo publish. Fix: publish it "
            "again from its training checkpoint."
        )
    for net in nets:
        setattr(model, net, OmittedNet(type(model).__name__, net))


def cannot_train_from(source: str, nets: list[str]) -> str:
    """Why Lightning's fit, validate, test and predict refuse a published checkpoint that leaves ``nets`` out."""
    return (f"{source} is a published checkpoint: it leaves out the optimiser states and the nets only training "
            f"uses ({', '.join(nets)}), so training cannot continue from it and validation cannot score it. Fix: "
            "sample or evaluate it (`zoo sample --ckpt ...`, `zoo evaluate --ckpt ...`), or start a new run without "
            "--ckpt_path (`zoo fit --config <its config name>.yaml`).")
