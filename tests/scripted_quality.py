"""A quality curve with scripted FIDs, so a test can train a real run whose curve has a known shape."""

from zoo.callbacks import QualityMetrics


class ScriptedFID(QualityMetrics):
    """Logs ``fids[iteration]`` (``default`` elsewhere) as ``val/fid[fmnist-classifier]`` at the iterations where
    ``QualityMetrics`` scores; training itself is untouched.

    Args:
        fids: the FID logged at each listed iteration.
        default: the FID logged at every other scored iteration.
        every_n_batches: as in ``QualityMetrics``.
    """

    def __init__(self, fids: dict[int, float], default: float = 10.0, every_n_batches: int = 3) -> None:
        super().__init__(every_n_batches=every_n_batches, num_images=8, metrics=("fid",))
        self.fids, self.default = {int(k): float(v) for k, v in fids.items()}, default

    def on_fit_start(self, trainer, pl_module) -> None:
        if trainer.is_global_zero:
            self.score(trainer, pl_module)

    def score(self, trainer, pl_module) -> None:
        values = {f"{self.split}/fid[{self.extractor}]": self.fids.get(pl_module.iteration, self.default)}
        self.history.append({"iteration": pl_module.iteration, **values})
        for logger in trainer.loggers:
            logger.log_metrics(values, step=pl_module.iteration)
