"""A callback that kills its own process, as a preempted or crashed job dies: used by test_resume.py.

Pass it like any callback: `--trainer.callbacks+=crash.KillAtEpochStart --trainer.callbacks.epoch=3`,
with this folder on PYTHONPATH.
"""

from __future__ import annotations

import os
import signal

from lightning.pytorch import Callback, LightningModule, Trainer


class KillAtEpochStart(Callback):
    """SIGKILL this process when epoch `epoch` starts (after the previous epoch's checkpoint)."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.current_epoch == self.epoch:
            os.kill(os.getpid(), signal.SIGKILL)
