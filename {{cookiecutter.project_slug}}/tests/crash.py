"""Callbacks that stop or stall their own process, as a preempted, crashed or busy job does.

Used by test_resume.py, test_faults_runs.py and test_runs_table.py. Pass them like any callback:
`--trainer.callbacks+=crash.KillAtEpochStart --trainer.callbacks.epoch=3`, with this folder on
PYTHONPATH.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer


class KillAtEpochStart(Callback):
    """SIGKILL this process when epoch `epoch` starts (after the previous epoch's checkpoint)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.current_epoch == self.epoch:
            os.kill(os.getpid(), signal.SIGKILL)


class KillOnceAtEpochStart(Callback):
    """SIGKILL this process when epoch `epoch` starts, if the file `armed` exists (it is removed
    first): a run killed once, which its resumption, reading the same config.yaml, survives."""

    def __init__(self, epoch: int, armed: str) -> None:
        self.epoch = epoch
        self.armed = Path(armed)

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.current_epoch == self.epoch and self.armed.exists():
            self.armed.unlink()
            os.kill(os.getpid(), signal.SIGKILL)


class HoldAtFitStart(Callback):
    """Write `started` (a path) when fit starts, then wait until the file `release` exists."""

    def __init__(self, started: str, release: str) -> None:
        self.started = Path(started)
        self.release = Path(release)

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.started.write_text(str(os.getpid()))
        while not self.release.exists():
            time.sleep(0.05)


class WaitForSigterm(Callback):
    """After training batch `batch` of the first epoch, write `started` and wait for SIGTERM."""

    def __init__(self, batch: int, started: str) -> None:
        self.batch = batch
        self.started = Path(started)

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if trainer.current_epoch == 0 and batch_idx == self.batch:
            self.started.write_text(str(os.getpid()))
            while not trainer.received_sigterm:  # Lightning's handler sets it
                time.sleep(0.05)


class SigtermAtBatch(Callback):
    """Send this process SIGTERM after training batch `batch` of epoch `epoch`, as a scheduler does.

    Lightning's handler, installed while fit runs, turns it into a stop at that step (exit 143).
    """

    def __init__(self, epoch: int, batch: int) -> None:
        self.epoch = epoch
        self.batch = batch

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if (trainer.current_epoch, batch_idx) == (self.epoch, self.batch):
            # Without Lightning's handler the signal would end this process: the test's, maybe.
            assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None)
            signal.raise_signal(signal.SIGTERM)


class SigtermAtTestBatch(Callback):
    """Send this process SIGTERM after test batch `batch`, as a scheduler does."""

    def __init__(self, batch: int) -> None:
        self.batch = batch

    def on_test_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if batch_idx == self.batch:
            signal.raise_signal(signal.SIGTERM)
