"""Lightning callbacks shared by every model."""

from zoo.callbacks.artifact import WandbCheckpointArtifact
from zoo.callbacks.best import BestCheckpoint
from zoo.callbacks.images import ImageGrids
from zoo.callbacks.manifold import LatentManifold
from zoo.callbacks.quality import QualityMetrics

__all__ = ["BestCheckpoint", "ImageGrids", "LatentManifold", "QualityMetrics", "WandbCheckpointArtifact"]
