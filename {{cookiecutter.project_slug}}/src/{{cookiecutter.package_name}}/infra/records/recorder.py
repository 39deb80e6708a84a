"""The callback that writes a run's run.json as it starts, as each epoch starts, and as it ends
(record.py says what the record holds)."""

from __future__ import annotations

import os
import platform
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint

from {{ cookiecutter.package_name }}.infra.records import record as run_record


def now() -> str:
    """This moment in ISO 8601 with the local UTC offset, to the second."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


class RunRecorder(Callback):
    """Keeps run.json (or run-resume-N.json for a run that continues) in the run directory.

    `checkpoint` is the callback that keeps the best checkpoint: its monitored metric and best value
    are the record's; None when checkpointing is off.
    """

    def __init__(self, command: str, checkpoint: ModelCheckpoint | None, continuing: bool) -> None:
        self.command = command
        self.checkpoint = checkpoint
        self.continuing = continuing
        self.path: Path | None = None  # set while this process keeps the record
        self.fields: dict[str, Any] = {}
        self.clock = 0.0
        self.started = False

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        run_directory = trainer.log_dir  # a collective call under DDP: every rank must make it
        # One record per command: a `trainer.test` after `fit` in the same process is not a run.
        if self.started or not trainer.is_global_zero or run_directory is None:
            return
        self.started = True
        folder = Path(run_directory)
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / run_record.RECORD
        if self.continuing:
            self.path = run_record.next_continuation(folder)
        self.clock = time.monotonic()
        self.fields = {
            "command": self.command,
            "started": now(),
            "host": platform.node(),
            "pid": os.getpid(),
            "monitor": self.checkpoint.monitor if self.checkpoint else None,
            "mode": self.checkpoint.mode if self.checkpoint else None,
        }
        if self.command == "fit":
            self.fields["max_epochs"] = trainer.max_epochs
        self._write(trainer, run_record.RUNNING)

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._write(trainer, run_record.RUNNING)

    def teardown(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        self._write(trainer, run_record.FINISHED)  # Lightning calls it only when the run ends well

    def on_exception(
        self, trainer: Trainer, pl_module: LightningModule, exception: BaseException
    ) -> None:
        # SIGTERM (Lightning's SIGTERMException is a SystemExit), Ctrl-C and a SLURM requeue's exit
        # stop a run on purpose; anything else is a failure.
        stopped = isinstance(exception, (SystemExit, KeyboardInterrupt))
        reason = type(exception).__name__
        message = str(exception).strip().splitlines()
        if message and not stopped:
            reason += f": {message[0][:200]}"
        self._write(trainer, run_record.STOPPED if stopped else run_record.FAILED, reason)

    def _write(self, trainer: Trainer, state: str, reason: str | None = None) -> None:
        if self.path is None:
            return
        record = {**self.fields, "state": state}
        if self.command == "fit":
            record["epochs"] = trainer.current_epoch  # completed: a stopped epoch is not counted
            best = self.checkpoint.best_model_score if self.checkpoint else None
            record["best"] = None if best is None else float(best)
        record["seconds"] = round(time.monotonic() - self.clock, 3)
        record["updated"] = now()
        if reason is not None:
            record["reason"] = reason
        try:
            run_record.write(self.path, record)
        except OSError as error:  # a full disk: the run goes on, or ends with its own error
            print(f"warning: cannot write {self.path} ({error.strerror})", file=sys.stderr)
        if state != run_record.RUNNING:
            self.path = None  # the run's last word
