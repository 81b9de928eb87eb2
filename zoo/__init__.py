"""zoo: classic generative models (VAEs, GANs and hybrids) on one PyTorch Lightning training loop.

>>> import zoo
>>> model = zoo.load("path/to/last.ckpt")
>>> images = model.sample(64)  # (64, C, H, W) in [0, 1]
"""

from zoo.checkpoint import create, load
from zoo.checkpoint_errors import CheckpointError
from zoo.core.base import GenerativeModel, NonFiniteLossError, Update
from zoo.registry import get_model, list_models, register

__version__ = "0.1.0"

__all__ = [
    "CheckpointError",
    "GenerativeModel",
    "NonFiniteLossError",
    "Update",
    "create",
    "get_model",
    "list_models",
    "load",
    "register",
]
