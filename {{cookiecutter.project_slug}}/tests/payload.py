"""A checkpoint planted with code: unpickled, it creates a marker file. The tests of every way the
project opens a checkpoint plant one and check that the marker never appears."""

from __future__ import annotations

import shutil
from pathlib import Path

import torch


class Payload:
    """Unpickled, it creates the file `marker`: what code planted in a checkpoint could do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (Path.touch, (str(self.marker),))


def plant(path: Path, marker: Path, real: Path) -> None:
    """A checkpoint with the real one's contents, and the payload among its hyperparameters."""
    state = torch.load(real, weights_only=True)
    state["hyper_parameters"]["note"] = Payload(marker)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)


def planted_run(fitted: Path, run: Path, marker: Path) -> Path:
    """A copy of the run folder `fitted` at `run`, its best checkpoint planted; that checkpoint."""
    shutil.copytree(fitted, run)
    (best,) = (run / "checkpoints").glob("epoch*.ckpt")
    plant(best, marker, best)
    return best


def refusal_of(checkpoint: Path) -> str:
    """How the project refuses such a checkpoint, without the `error: ` of a command."""
    return f"{checkpoint} holds more than tensors and plain values"
