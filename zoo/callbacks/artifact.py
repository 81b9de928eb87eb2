"""The final checkpoint as a Weights & Biases model artifact, with the run's last metrics in its metadata."""

import lightning as L
from lightning.pytorch.loggers import WandbLogger

from zoo.callbacks.quality import QualityMetrics


class WandbCheckpointArtifact(L.Callback):
    """At the end of fit, log ``last.ckpt`` as a ``model`` artifact of every W&B run (offline too: ``wandb sync``
    uploads it later), with metadata: model class, iteration, the last value of every logged metric and the last
    sample-quality scores. Does nothing without a WandbLogger.

    Args:
        enabled: set False to skip the upload of large checkpoints.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        loggers = [lg for lg in trainer.loggers if isinstance(lg, WandbLogger)]
        checkpoint = getattr(trainer.checkpoint_callback, "last_model_path", "") or ""
        if not (self.enabled and loggers and checkpoint and trainer.is_global_zero):
            return
        import wandb

        metadata = {
            "model": type(pl_module).__name__,
            "iteration": pl_module.iteration,
            "metrics": {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1},
        }
        quality = next((c for c in trainer.callbacks if isinstance(c, QualityMetrics)), None)
        if quality is not None and quality.history:
            metadata["quality"] = quality.history[-1]
        for logger in loggers:
            artifact = wandb.Artifact(f"model-{logger.experiment.id}", type="model", metadata=metadata)
            artifact.add_file(checkpoint, name="last.ckpt")
            logger.experiment.log_artifact(artifact, aliases=["latest", f"iteration-{pl_module.iteration}"])
