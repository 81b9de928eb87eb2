"""Lightning's file loggers with ``save_dir`` optional (named apart, so short names like ``CSVLogger`` stay unique): left out (as in every shipped config), the run writes under
``--trainer.default_root_dir``, so that one argument moves logs, images and checkpoints together (see
:mod:`zoo.runs`, which fills it in before the logger is built)."""

from lightning.pytorch import loggers


class CSVRunLogger(loggers.CSVLogger):
    """:class:`lightning.pytorch.loggers.CSVLogger`; ``save_dir=None`` means the trainer's ``default_root_dir``."""

    def __init__(self, save_dir: str | None = None, name: str | None = "lightning_logs", **kwargs) -> None:
        super().__init__(save_dir if save_dir is not None else "runs", name=name, **kwargs)


class TensorBoardRunLogger(loggers.TensorBoardLogger):
    """:class:`lightning.pytorch.loggers.TensorBoardLogger`; ``save_dir=None`` means the trainer's
    ``default_root_dir``."""

    def __init__(self, save_dir: str | None = None, name: str | None = "lightning_logs", **kwargs) -> None:
        super().__init__(save_dir if save_dir is not None else "runs", name=name, **kwargs)
