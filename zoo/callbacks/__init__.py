"""Lightning callbacks shared by every model."""

from zoo.callbacks.images import ImageGrids

__all__ = ["ImageGrids"]
