"""Checkpoints that are whole or absent, and read as data only.

Lightning's own writer stages a checkpoint in the system's temporary folder and moves it, which is
a copy when that folder is on another disk: a full disk or a kill mid-copy leaves a truncated
`last.ckpt`. Here the file is written and synced in its own folder, then renamed, which is atomic.

Every checkpoint the project opens itself (the pre-checks of --ckpt_path and --resume, report, the
notebook, the applet) goes through `read`, which never unpickles arbitrary objects: a checkpoint
from a colleague, the internet or a shared runs/ folder cannot run code by being opened. Lightning
loads them the same way (torch's weights_only loader).
"""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.utilities.types import _PATH
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.trainer.states import TrainerFn
from lightning.pytorch.utilities.exceptions import SIGTERMException

from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal


def read(path: Path) -> Any:
    """A checkpoint's contents on the CPU, its tensors mapped from the file rather than read.

    torch's weights_only loader builds tensors, numbers, strings and containers, nothing else; a
    file that needs more (a pickled object, whose loading can run any code) is refused in one line,
    unopened. Other failures (not a torch file, a damaged one) reach the caller as torch raised them.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except pickle.UnpicklingError as error:
        reason = str(error).strip().splitlines()[-1]
        raise Refusal(
            f"{path} holds more than tensors and plain values, so it is not opened (loading it "
            f"could run code it carries: {reason}); use checkpoints this project's commands wrote"
        ) from None


def atomic_save(value: Any, path: Path) -> None:
    """torch.save to `.NAME.partial` beside `path`, fsync, then rename onto `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("wb") as file:
            torch.save(value, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)
    except BaseException as error:
        partial.unlink(missing_ok=True)  # the last whole file stays as it was
        if isinstance(error, (OSError, RuntimeError)):  # torch reports a failed write as the latter
            reason = error.strerror if isinstance(error, OSError) else "the write failed"
            raise Refusal(
                f"cannot write checkpoint {path} ({reason}: a full disk?); the previous one is "
                "unchanged: free space there, then continue the run with --resume auto"
            ) from None
        raise


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, with atomic_save in place of its copy from a temporary folder."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any | None = None
    ) -> None:
        atomic_save(checkpoint, Path(path))


class LastCheckpoint(ModelCheckpoint):
    """checkpoints/last.ckpt after every epoch, and when SIGTERM (or Ctrl-C, training/interrupt.py)
    stops training mid-epoch.

    ModelCheckpoint's own save_last only rewrites it when the monitored metric improves. Lightning
    stops at the end of a step on SIGTERM (every rank at the same step); saving then lets
    `fit --resume auto` continue from that step.
    """

    def __init__(self) -> None:
        super().__init__(filename="last", monitor=None, save_top_k=1, enable_version_counter=False)

    def on_exception(
        self, trainer: Trainer, pl_module: LightningModule, exception: BaseException
    ) -> None:
        if not isinstance(exception, SIGTERMException) or self.dirpath is None:
            return
        if trainer.state.fn != TrainerFn.FITTING:
            return  # a validate, test or predict run trained nothing: no training checkpoint
        path = Path(self.dirpath) / "last.ckpt"
        trainer.save_checkpoint(path)  # every rank calls it; rank 0 writes
        if trainer.is_global_zero:
            print(f"Stopped; saved {path}", file=sys.stderr, flush=True)
