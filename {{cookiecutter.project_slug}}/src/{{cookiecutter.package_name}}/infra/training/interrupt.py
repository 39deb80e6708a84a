"""Ctrl-C during fit: stop at the end of the step, save checkpoints/last.ckpt, exit 130.

Python turns Ctrl-C (SIGINT) into a KeyboardInterrupt wherever the program is, perhaps halfway
through an optimizer step; Lightning then exits with status 1 and saves nothing. Here the first
Ctrl-C of a fit asks Lightning to stop as it does on SIGTERM: at the end of the step, every rank at
the same one, after which LastCheckpoint saves the step reached and the command ends with 130, the
shell's status for Ctrl-C (errors.reported). A second Ctrl-C stops at once, as Python would.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer

from {{ cookiecutter.package_name }}.infra.command_line.errors import ctrl_c_pressed


class StopOnCtrlC(Callback):
    """While fit runs, the first Ctrl-C stops it at the end of the step, as SIGTERM does."""

    def __init__(self) -> None:
        self.previous: Any = None

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread may handle signals

        def stop_at_step_end(signum: int, frame: FrameType | None) -> None:
            if ctrl_c_pressed.is_set():
                raise KeyboardInterrupt  # the second Ctrl-C
            ctrl_c_pressed.set()
            trainer._signal_connector.received_sigterm = True  # Lightning's SIGTERM stop
            if trainer.is_global_zero:
                print(
                    "Ctrl-C: stopping at the end of this step and saving checkpoints/last.ckpt "
                    "(Ctrl-C again stops at once)",
                    file=sys.stderr,
                    flush=True,
                )

        ctrl_c_pressed.clear()  # this fit's own Ctrl-C, not an earlier command's in this process
        self.previous = signal.signal(signal.SIGINT, stop_at_step_end)

    def teardown(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        self._restore()

    def on_exception(
        self, trainer: Trainer, pl_module: LightningModule, exception: BaseException
    ) -> None:
        self._restore()

    def _restore(self) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
            self.previous = None
