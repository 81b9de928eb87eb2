"""``last.ckpt`` while training, not only at the end: every few minutes, at every epoch end, on the batch a run stops
on, and when the run is asked to stop by a signal (SIGTERM, SIGINT, SLURM's requeue signal).

Every save happens at a batch boundary (in ``on_train_batch_end``, the state Lightning's loops restore as "restarted
on train batch end"), so a resumed run neither skips nor repeats a batch, whatever budget (epochs or steps) it
resumes under. A signal only sets a flag; the ranks of a DDP run agree on it at the next batch boundary (one small
all-reduce per batch, together with the wall-clock decision, which follows rank 0's clock), save, and stop with
:class:`TrainingInterrupted`, which the ``zoo`` command turns into a message with the resume command and a non-zero
exit status (128 + the signal number, as a shell reports a process killed by that signal).
"""

import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import lightning as L
import torch
from lightning.fabric.plugins.environments import SLURMEnvironment
from lightning.pytorch.callbacks import ModelCheckpoint

from zoo.core.checkpoint_io import remove_stale_temporaries
from zoo.runs import OutputFolderError, check_writable, launched_as_global_rank_zero


class TrainingInterrupted(RuntimeError):
    """Training stopped on a signal after writing a resumable checkpoint.

    Attributes:
        signal_number: the signal that asked for the stop.
        checkpoint: the checkpoint written at the stop (resume from it).
        iteration: training batches completed when it stopped.
    """

    def __init__(self, signal_number: int, checkpoint: str, iteration: int) -> None:
        self.signal_number, self.checkpoint, self.iteration = signal_number, checkpoint, iteration
        name = signal.Signals(signal_number).name
        super().__init__(f"stopped by {name} after iteration {iteration}; checkpoint written: {checkpoint}")

    @property
    def exit_status(self) -> int:
        return 128 + self.signal_number


class StopSignals:
    """Records stop signals instead of dying on them: the first SIGTERM/SIGINT (and, under SLURM auto-requeue, the
    requeue signal) sets :attr:`received`; a second SIGINT exits at once with status 130 (Ctrl-C twice: no
    checkpoint), saying which checkpoint, written before, is still there.

    Args:
        signals: the signals to record.
        last_checkpoint: the path of the last checkpoint written (``""``: none yet), for the second Ctrl-C's line.
    """

    def __init__(self, signals: tuple[int, ...], last_checkpoint: Callable[[], str] = str) -> None:
        self.signals = signals
        self.last_checkpoint = last_checkpoint
        self.received = 0
        self._previous: dict[int, object] = {}

    def install(self) -> None:
        for number in self.signals:
            self._previous[number] = signal.signal(number, self._handle)

    def restore(self) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}

    def _handle(self, number: int, frame) -> None:
        if self.received and number == signal.SIGINT:
            self._stop_without_saving()
        if not self.received:
            self.received = number
            print(f"zoo: {signal.Signals(number).name} received: saving a checkpoint after this batch, then stopping"
                  + (" (Ctrl-C again to stop without saving)" if number == signal.SIGINT else ""), flush=True)

    def _stop_without_saving(self) -> NoReturn:
        """Exit now with 128 + SIGINT, as a shell reports a process stopped by Ctrl-C, and one line saying so. Not a
        ``KeyboardInterrupt``: Lightning turns that into exit status 1."""
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a third Ctrl-C does not interrupt the way out
        last = self.last_checkpoint()
        kept = f"the last checkpoint, written before, is intact: {last}" if last else "no checkpoint had been written"
        if launched_as_global_rank_zero():  # every rank of a DDP run gets the Ctrl-C: one line
            print(f"zoo: stopped by a second Ctrl-C without saving; {kept}", file=sys.stderr, flush=True)
        raise SystemExit(128 + signal.SIGINT)


class ResumableCheckpoint(ModelCheckpoint):
    """Lightning's ``ModelCheckpoint`` that keeps ``last.ckpt`` current during training (see the module docstring).

    Every argument of ``ModelCheckpoint`` is accepted (top-k checkpoints by a monitored metric work as there);
    zoo's defaults are ``save_last=True, save_top_k=0``. Its ``setup`` refuses an output folder it cannot write
    and removes temporary files that a killed process left behind.

    Args:
        every_minutes: write ``last.ckpt`` when this much wall time has passed since the last save (None: never on
            time alone; epoch ends, stops and signals still save).
        save_on_signal: catch SIGTERM and SIGINT (and SLURM's requeue signal) to save and stop cleanly.
    """

    def __init__(self, *args, every_minutes: float | None = 5.0, save_on_signal: bool = True, **kwargs) -> None:
        kwargs.setdefault("save_last", True)
        kwargs.setdefault("save_top_k", 0)
        super().__init__(*args, **kwargs)
        if every_minutes is not None and not every_minutes > 0:
            raise ValueError(f"every_minutes must be positive (or None to save on epochs and stops only); got "
                             f"{every_minutes}")
        self.every_minutes = every_minutes
        self.save_on_signal = save_on_signal
        self._signals: StopSignals | None = None
        self._last_save_time = 0.0

    # --- before training --------------------------------------------------------------------------------------

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        super().setup(trainer, pl_module, stage)
        if stage != "fit":
            return
        problem = None
        if trainer.is_global_zero:
            try:
                check_writable(self.dirpath)
                remove_stale_temporaries(Path(self.dirpath))
            except OutputFolderError as error:
                problem = str(error)
        problem = trainer.strategy.broadcast(problem)  # every rank stops, none waits for the others
        if problem:
            raise OutputFolderError(problem)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_start(trainer, pl_module)
        self._last_save_time = time.monotonic()
        if self.save_on_signal:
            self._signals = StopSignals(self._stop_signals(trainer), lambda: self.last_model_path)
            self._signals.install()

    @staticmethod
    def _stop_signals(trainer: L.Trainer) -> tuple[int, ...]:
        numbers = [signal.SIGTERM, signal.SIGINT]
        environment = trainer._accelerator_connector.cluster_environment
        if isinstance(environment, SLURMEnvironment) and environment.auto_requeue and environment.requeue_signal:
            numbers.append(environment.requeue_signal)
        return tuple(numbers)

    # --- while training ---------------------------------------------------------------------------------------

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs, batch, batch_idx) -> None:
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        signal_number, time_due = self._agreed_flags(trainer)
        epoch_ends_here = trainer.fit_loop.epoch_loop.batch_progress.is_last_batch  # saved at the epoch's end
        run_stops_here = trainer.should_stop or 0 <= trainer.max_steps <= trainer.global_step
        if signal_number or ((time_due or run_stops_here) and not epoch_ends_here):
            self._save_last(trainer)
        if signal_number:
            self._stop(trainer, pl_module, signal_number)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        progress = trainer.fit_loop.epoch_loop.batch_progress
        if progress.is_last_batch:  # a whole epoch (an early stop saved on its batch instead)
            self._save_last(trainer)

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if self._signals is not None:
            self._signals.restore()
            self._signals = None

    def _agreed_flags(self, trainer: L.Trainer) -> tuple[int, bool]:
        """(signal number or 0, whether the save interval has passed), the same on every rank."""
        received = self._signals.received if self._signals is not None else 0
        time_due = self.every_minutes is not None and time.monotonic() - self._last_save_time >= 60 * self.every_minutes
        if trainer.world_size == 1:
            return received, time_due
        time_due = time_due and trainer.is_global_zero  # rank 0's clock decides
        flags = torch.tensor([received, int(time_due)], device=trainer.strategy.root_device)
        flags = trainer.strategy.reduce(flags, reduce_op="max")
        return int(flags[0]), bool(flags[1])

    def _save_last(self, trainer: L.Trainer) -> None:
        if not self.save_last or self._should_skip_saving_checkpoint(trainer):
            return
        self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))
        self._last_save_time = time.monotonic()

    def _stop(self, trainer: L.Trainer, pl_module: L.LightningModule, signal_number: int) -> None:
        environment = trainer._accelerator_connector.cluster_environment
        if isinstance(environment, SLURMEnvironment) and signal_number == environment.requeue_signal:
            # Lightning's own auto-requeue: an HPC checkpoint in default_root_dir, then `scontrol requeue` (rank 0);
            # the requeued job resumes from it by itself.
            trainer._signal_connector._slurm_sigusr_handler_fn(signal_number, None)
        # the exception carries the path: the CLI prints it once, with the resume command
        raise TrainingInterrupted(signal_number, self.last_model_path, pl_module.iteration)
