"""The one place that reads the labels a user asks a conditional model for, and refuses them for the others.

A conditional model (``model.conditional``) takes one label per image: for ``label_kind`` ``"class"`` an int64 class
index (B,), for ``"attributes"`` a (B, k) 0/1 multi-hot vector over its k attributes (CelebA's). A user may give:

* class models: a tensor or list of indices, or of class names (matched without regard to case; a misspelt name
  is refused with the closest names), or one index or name for every image;
* attribute models: a (n, k) 0/1 tensor, a list of n lists of attribute names (each list: the attributes that are
  on), or one (k,) vector, one list of names (or one name) for every image.

Without labels, a conditional model draws them: classes uniformly, attributes each independently with its frequency
in the training labels the model has seen (:class:`~zoo.core.conditioning.Conditional`; 0.5 before any).
"""

import inspect

import torch
from torch import Tensor

from zoo.arguments import InvalidArgument
from zoo.names import did_you_mean


class LabelsNotAccepted(InvalidArgument):
    """Labels (a class) were asked of a model that takes none."""


class UnknownLabel(InvalidArgument):
    """A class or attribute name the model does not know, an index out of range, or labels of the wrong shape."""


def models_with_labels() -> list[str]:
    """The registered models that take labels: a class of theirs below zoo's shared base declares ``num_classes``
    in its ``__init__`` (read from the classes, so nothing is built)."""
    from zoo.registry import list_models

    def declares(cls: type) -> bool:
        return any("__init__" in vars(klass) and "num_classes" in inspect.signature(klass.__init__).parameters
                   for klass in cls.__mro__ if klass.__module__ != "zoo.core.base")

    return [entry.name for entry in list_models() if declares(entry.cls)]


def labels_refusal(model, asked: str = "labels") -> LabelsNotAccepted:
    """The error for ``asked`` (labels, a class, a class grid) given to an unconditional model: it names the models
    that take labels."""
    name = type(model).__name__
    return LabelsNotAccepted(
        f"{name} is an unconditional model (trained without the data's labels), so it takes no {asked}; the models "
        f"that take labels: {', '.join(models_with_labels())} (`zoo list`). Fix: leave the {asked} out, or sample "
        "from a model that takes labels."
    )


def class_index(model, value) -> int:
    """The index of one class of a class model: an index, or a name matched without regard to case (a string of
    digits that names no class is read as an index)."""
    names = model.class_names
    if isinstance(value, str):
        by_lower = {name.lower(): i for i, name in enumerate(names)}
        if value.strip().lower() in by_lower:
            return by_lower[value.strip().lower()]
        if not value.strip().isdigit():
            raise UnknownLabel(
                f"{type(model).__name__} has no class {value!r}.{did_you_mean(value, names)} Its classes: "
                f"{_listed(names)}. Fix: give one of these names (any case) or an index 0-{len(names) - 1}.")
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < len(names):
        raise UnknownLabel(f"class index {value!r} is out of range: {type(model).__name__} has {len(names)} classes "
                           f"({_listed(names)}). Fix: give an index 0-{len(names) - 1} or a class name.")
    return value


def attribute_vector(model, names) -> Tensor:
    """The (k,) 0/1 vector of an attribute model with the attributes ``names`` on (one name or a list; case is
    ignored)."""
    names = [names] if isinstance(names, str) else list(names)
    known = {name.lower(): i for i, name in enumerate(model.class_names)}
    vector = torch.zeros(model.num_classes, dtype=torch.long)
    for name in names:
        if not isinstance(name, str) or name.strip().lower() not in known:
            raise UnknownLabel(
                f"{type(model).__name__} has no attribute {name!r}.{did_you_mean(str(name), model.class_names)} Its "
                f"attributes: {_listed(model.class_names)}. Fix: give some of these names (any case).")
        vector[known[name.strip().lower()]] = 1
    return vector


def default_labels(model, n: int, generator: torch.Generator | None = None) -> Tensor:
    """``n`` labels drawn as a conditional model draws them when none are given (module docstring), on the CPU."""
    if model.label_kind == "attributes":
        return torch.bernoulli(model.attribute_frequencies().cpu().expand(n, -1), generator=generator).long()
    return torch.randint(model.num_classes, (n,), generator=generator)


def resolve_labels(model, labels, n: int, generator: torch.Generator | None = None) -> Tensor | None:
    """``model``'s labels for ``n`` images from what a user gave (module docstring), on the model's device; drawn
    with ``generator`` when ``labels`` is None; None for an unconditional model, which refuses any labels."""
    if not model.conditional:
        if labels is not None:
            raise labels_refusal(model)
        return None
    if labels is None:
        resolved = default_labels(model, n, generator)
    elif model.label_kind == "attributes":
        resolved = _attributes(model, labels, n)
    else:
        resolved = _classes(model, labels, n)
    return resolved.to(model.device)


def _classes(model, labels, n: int) -> Tensor:
    if isinstance(labels, Tensor):
        if labels.is_floating_point() or labels.dtype == torch.bool or labels.dim() > 1:
            raise UnknownLabel(f"class labels must be integer class indices, one per image ((n,) or one index), got "
                               f"a {labels.dtype} tensor of shape {tuple(labels.shape)}")
        labels = labels.tolist()
    values = labels if isinstance(labels, (list, tuple)) else [labels]
    indices = torch.tensor([class_index(model, value) for value in values], dtype=torch.long)
    return _broadcast(indices, n, "class labels")


def _attributes(model, labels, n: int) -> Tensor:
    k = model.num_classes
    if isinstance(labels, Tensor):
        if labels.shape[-1:] != (k,) or labels.dim() > 2 or not ((labels == 0) | (labels == 1)).all():
            raise UnknownLabel(f"attribute labels must be 0/1 vectors over the model's {k} attributes ((n, {k}) or "
                               f"({k},)), got shape {tuple(labels.shape)}; its attributes: "
                               f"{_listed(model.class_names)}")
        vectors = labels.long().reshape(-1, k)
    elif isinstance(labels, (list, tuple)) and labels and all(isinstance(item, (list, tuple)) for item in labels):
        vectors = torch.stack([attribute_vector(model, names) for names in labels])  # one list of names per image
    else:
        vectors = attribute_vector(model, labels)[None]  # one name, or one list of names, for every image
    return _broadcast(vectors, n, "attribute labels")


def _broadcast(labels: Tensor, n: int, what: str) -> Tensor:
    if len(labels) == 1:
        return labels.expand(n, *labels.shape[1:]).clone()
    if len(labels) != n:
        raise UnknownLabel(f"{len(labels)} {what} for {n} images: give one label per image, or one for all")
    return labels


def _listed(names: tuple[str, ...], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")
