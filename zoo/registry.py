"""The model registry: ``@register`` on a model class makes it known to ``zoo list``, ``zoo.create`` and the tests.

Importing this module imports every module of ``zoo.models``, so a new model file registers itself with no edit
anywhere else.
"""

import importlib
import pkgutil
from dataclasses import dataclass

from zoo.names import unknown

_REGISTRY: dict[str, "ModelEntry"] = {}


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: its short name, class, family and the paper it implements."""

    name: str
    cls: type
    family: str
    paper: str

    @property
    def class_path(self) -> str:
        return f"{self.cls.__module__}.{self.cls.__qualname__}"


def register(family: str, paper: str, name: str | None = None):
    """Class decorator: register a model under ``name`` (default: the class name in lower case)."""

    def decorate(cls: type) -> type:
        key = name or cls.__name__.lower()
        if key in _REGISTRY and _REGISTRY[key].cls is not cls:
            raise ValueError(f"two models are registered as {key!r}: {_REGISTRY[key].class_path} and {cls}")
        _REGISTRY[key] = ModelEntry(key, cls, family, paper)
        return cls

    return decorate


def import_models() -> None:
    import zoo.models

    for module in pkgutil.iter_modules(zoo.models.__path__):
        importlib.import_module(f"zoo.models.{module.name}")


def list_models() -> list[ModelEntry]:
    """Every registered model, sorted by family then name."""
    import_models()
    return sorted(_REGISTRY.values(), key=lambda e: (e.family, e.name))


def get_model(name: str) -> ModelEntry:
    """The entry registered as ``name`` (case-insensitive; a class name or class path works too)."""
    import_models()
    key = name.rsplit(".", 1)[-1].lower()
    if key not in _REGISTRY:  # a class name (or path) of a model registered under another name, e.g. "ae"
        key = next((k for k, e in _REGISTRY.items() if e.cls.__name__.lower() == key), key)
    if key not in _REGISTRY:
        names = [*_REGISTRY, *(entry.cls.__name__ for entry in _REGISTRY.values())]
        raise unknown("model", name, names, f"The registered models: {', '.join(sorted(_REGISTRY))} (`zoo list`).")
    return _REGISTRY[key]
