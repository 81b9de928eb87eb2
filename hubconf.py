"""torch.hub entry points: one per registered zoo model, optionally with published weights.

>>> import torch
>>> model = torch.hub.load("<owner>/zoo", "dcgan", pretrained="dcgan_fashion_mnist")  # published weights
>>> model = torch.hub.load("path/to/zoo", "vae", source="local", latent_dim=32)         # a new model
>>> images = model.sample(16)  # (16, C, H, W) in [0, 1]

Keyword arguments are those of ``zoo.create`` (YAML-style: nets as ``{"class_path": ..., "init_args": ...}``).
``pretrained`` is a name from ``zoo pull --list`` (or True: ``<model>_fashion_mnist``, the checkpoint of the model's
default Fashion-MNIST config, or else the model's only published checkpoint); the
architecture then comes from the checkpoint, so no other keyword arguments may be given.
"""

dependencies = ["torch", "torchvision", "lightning", "torchmetrics", "jsonargparse", "yaml"]

import zoo as _zoo  # noqa: E402  (torch.hub puts this folder first on sys.path)
import zoo.pretrained as _pretrained  # noqa: E402


def _entry_point(model_name: str, paper: str):
    def build(pretrained: str | bool | None = None, map_location: str = "cpu", progress: bool = True, **kwargs):
        if not pretrained:
            return _zoo.create(model_name, **kwargs)
        if kwargs:
            raise ValueError(f"{model_name}: pretrained={pretrained!r} fixes the architecture; drop {sorted(kwargs)}")
        name = _default_checkpoint(model_name) if pretrained is True else pretrained
        entry = _pretrained.get(name)
        if entry.model != model_name:
            raise ValueError(f"{name!r} holds a {entry.model!r} model, not {model_name!r}; "
                             f"use torch.hub.load(..., {entry.model!r}, pretrained={name!r})")
        return _zoo.load(_pretrained.pull(name, progress=progress), map_location=map_location)

    build.__name__ = build.__qualname__ = model_name
    build.__doc__ = (f"{paper}\n\nBuild a zoo `{model_name}` from `zoo.create` keyword arguments, or load the "
                     "published checkpoint named by `pretrained` (see `zoo pull --list`).")
    return build


def _default_checkpoint(model_name: str) -> str:
    names = [e.name for e in _pretrained.list_pretrained() if e.model == model_name]
    if f"{model_name}_fashion_mnist" in names:  # the default config's checkpoint beside variants (vae_latent2_...)
        return f"{model_name}_fashion_mnist"
    if len(names) != 1:
        raise ValueError(f"pretrained=True needs exactly one published {model_name!r} checkpoint; there are "
                         f"{names or 'none'}. Pass its name, e.g. pretrained='{model_name}_fashion_mnist'.")
    return names[0]


for _entry in _zoo.list_models():
    globals()[_entry.name] = _entry_point(_entry.name, _entry.paper)
del _entry
