"""Labels through the shared loop: what a conditional model adds to its family's base, written once.

A conditional model is ``class CGAN(Conditional, GAN)``: it builds its nets for a :class:`LabelSpace` (the number of
classes, their names, and whether a label is one class or several binary attributes), then calls
:meth:`Conditional.use_labels`. From then on the shared loop (:mod:`zoo.core.base`) passes each batch's labels on:
``prepare(real, due, labels)`` puts them in the tensors the updates share (``shared["labels"]``), and
``evaluate(real, labels)``, ``generate(z, labels)``, ``reconstruct(x, labels)`` take them as their last argument.

The label space comes from the data the way the image shape does: ``zoo fit`` links the data module's
``num_classes``, ``class_names`` and ``label_kind`` into the model's arguments (:mod:`zoo.cli`), and a model built in
Python for other data is refused when training starts (:meth:`Conditional.setup`), as are batches whose labels do
not fit it.

Attribute models count how often each attribute is on in the training batches (buffers, saved and resumed with the
weights), so that :meth:`zoo.core.base.GenerativeModel.sample` without labels draws each attribute with its training
frequency. Under DDP each rank counts its own shard (like batch-norm statistics); the checkpoint keeps rank 0's.
"""

from dataclasses import dataclass

import torch
from torch import Tensor

from zoo.arguments import InvalidArgument
from zoo.names import did_you_mean

LABEL_KINDS = ("class", "attributes")
"""``class``: one class index per image (int64 (B,)); ``attributes``: (B, k) 0/1 multi-hot vectors."""
DEFAULT_CLASSES = 10
"""The number of classes of a conditional model built without one (MNIST, Fashion-MNIST, CIFAR-10 have ten)."""


class LabelMismatch(InvalidArgument):
    """The data's labels do not fit the label space a conditional model was built for."""


@dataclass(frozen=True)
class LabelSpace:
    """What a conditional model's labels are.

    Attributes:
        num_classes: K, the number of classes (or attributes).
        class_names: their names, in label order, distinct without regard to case.
        kind: ``class`` or ``attributes`` (:data:`LABEL_KINDS`).
    """

    num_classes: int
    class_names: tuple[str, ...]
    kind: str

    @classmethod
    def of(cls, num_classes: int | None, class_names, kind: str | None) -> "LabelSpace":
        """Check a model's label arguments: ``num_classes`` None takes the number of ``class_names`` (else
        :data:`DEFAULT_CLASSES`), ``class_names`` None names the classes by their index, ``kind`` None is
        ``class``."""
        kind = "class" if kind is None else kind
        if kind not in LABEL_KINDS:
            raise InvalidArgument(f"label_kind {kind!r} is none of {', '.join(LABEL_KINDS)}."
                                  + did_you_mean(kind, LABEL_KINDS))
        names = None if class_names is None else tuple(str(name) for name in class_names)
        if num_classes is None:
            num_classes = len(names) if names else DEFAULT_CLASSES
        least = 2 if kind == "class" else 1
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < least:
            raise InvalidArgument(f"num_classes must be an integer >= {least} for label_kind {kind!r}, got "
                                  f"{num_classes!r}: a model of one class is an unconditional one. Fix: train an "
                                  "unconditional model (e.g. dcgan, vae) on data of one class, or use more classes.")
        if names is None:
            names = tuple(str(i) if kind == "class" else f"attribute_{i}" for i in range(num_classes))
        if len(names) != num_classes:
            raise InvalidArgument(f"class_names lists {len(names)} names for num_classes {num_classes}. Fix: give one "
                                  "name per class, or leave class_names out (the data module's are linked by zoo fit).")
        lower = [name.lower() for name in names]
        repeated = sorted({name for name in names if lower.count(name.lower()) > 1})
        if repeated:
            raise InvalidArgument(f"class_names must differ without regard to case (labels are asked for by name), "
                                  f"but {', '.join(map(repr, repeated))} repeat")
        return cls(num_classes, names, kind)


class Conditional:
    """Mixed in before a family's base (``class CVAE(Conditional, VariationalModel)``): the labels of each batch
    reach :meth:`prepare` and :meth:`evaluate`, the data are checked against the model's :class:`LabelSpace`, and an
    attribute model counts the attributes it trains on. The model calls :meth:`use_labels` after its base's
    ``__init__``; its nets take the labels as their last argument.
    """

    def use_labels(self, space: LabelSpace) -> None:
        """Set ``num_classes``, ``class_names`` and ``label_kind`` from ``space`` (after the base's ``__init__``)."""
        self.num_classes, self.class_names, self.label_kind = space.num_classes, space.class_names, space.kind
        if space.kind == "attributes":  # how often each attribute was on in training (for sample() without labels)
            self.register_buffer("attribute_counts", torch.zeros(space.num_classes, dtype=torch.float64))
            self.register_buffer("labels_seen", torch.zeros((), dtype=torch.float64))

    def attribute_frequencies(self) -> Tensor:
        """Each attribute's frequency in the training labels seen (k,), 0.5 before any."""
        if self.labels_seen.item() == 0:
            return torch.full((self.num_classes,), 0.5, device=self.attribute_counts.device)
        return (self.attribute_counts / self.labels_seen).float()

    @classmethod
    def latent_code_obstacle(cls) -> str | None:
        """A conditional model's code leaves out the class, which its decoder takes beside it: a prior fitted to
        the codes would have to be one per class (p(z | y)), which zoo's fitted priors are not."""
        if not hasattr(cls, "encode"):
            return "it has no encoder"
        return ("it is conditional: its code leaves out the class it is conditioned on, and a prior fitted to the "
                "codes of all classes, drawn with a label of its own, would not be p(z | y)")

    def latent_code(self, x: Tensor, *condition: Tensor) -> Tensor:
        from zoo.sampling.latent_priors import latent_code_refusal

        raise latent_code_refusal(self)

    def batch_condition(self, batch: tuple[Tensor, Tensor]) -> tuple[Tensor]:
        """``(labels,)`` of a batch, checked against the label space (their shape and type, no device sync)."""
        labels = batch[1]
        check_label_batch(self, labels)
        return (labels,)

    def prepare(self, real: Tensor, due: set[str], labels: Tensor) -> dict:
        """The base's shared tensors for these labels, with the labels (``shared["labels"]``)."""
        return {**super().prepare(real, due, labels), "labels": labels}

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        if self.label_kind == "attributes":
            labels = batch[1].to(self.attribute_counts)
            self.attribute_counts += labels.sum(0)
            self.labels_seen += len(labels)
        return super().training_step(batch, batch_idx)

    def setup(self, stage: str) -> None:
        super().setup(stage)
        datamodule = getattr(self.trainer, "datamodule", None)
        if datamodule is not None and hasattr(datamodule, "num_classes"):
            check_data_fits(self, datamodule)


def check_data_fits(model, datamodule) -> None:
    """Refuse data whose labels are not the model's: another number of classes or another kind of label."""
    kind = getattr(datamodule, "label_kind", "class")
    if (datamodule.num_classes, kind) == (model.num_classes, model.label_kind):
        return
    name = type(model).__name__
    raise LabelMismatch(
        f"{name} was built for {_space(model.num_classes, model.label_kind)}, but the data "
        f"({getattr(datamodule, 'name', type(datamodule).__name__)}) have {_space(datamodule.num_classes, kind)}. "
        f"Fix: build the model for the data (zoo fit links them; in Python, zoo.create(..., "
        f"num_classes=data.num_classes, class_names=data.class_names, label_kind=data.label_kind))."
    )


def check_label_batch(model, labels: Tensor) -> None:
    """Refuse a batch of labels whose shape or type does not fit the model's label space."""
    if model.label_kind == "class":
        fits = labels.dim() == 1 and not labels.is_floating_point() and labels.dtype != torch.bool
        expected = "int64 class indices of shape (B,)"
    else:
        fits = labels.dim() == 2 and labels.shape[1] == model.num_classes
        expected = f"0/1 attribute vectors of shape (B, {model.num_classes})"
    if not fits:
        raise LabelMismatch(
            f"{type(model).__name__} was built for {_space(model.num_classes, model.label_kind)} and takes "
            f"{expected}, but a batch's labels are {labels.dtype} of shape {tuple(labels.shape)}. Fix: train it on "
            "data with those labels, or build it for this data's (zoo fit links them)."
        )


def _space(count: int, kind: str) -> str:
    return f"{count} classes" if kind == "class" else f"{count} binary attributes"
