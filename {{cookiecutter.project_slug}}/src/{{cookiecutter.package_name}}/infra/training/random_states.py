"""The random generators' states in every checkpoint, restored on resume.

An ordinary `DataLoader(shuffle=True)` draws each epoch's order from torch's global generator when
the epoch starts, and dropout draws from it every step. Lightning's checkpoints do not keep that
generator, so a run resumed from `last.ckpt` shuffled differently from the run it continues, and
ended with other weights. Kept here (torch's, CUDA's, NumPy's and Python's), a run killed between
epochs and resumed with `fit --resume auto` ends with the weights of one never killed, whatever the
data module's loaders are.

The states are stored as tensors, ints and lists, which `torch.load(weights_only=True)` reads.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer

KEY = "random_states"


def collect() -> dict[str, Any]:
    """This process's generator states, as plain tensors, ints and lists."""
    version, python_state, gauss = random.getstate()
    numpy_state = np.random.get_state(legacy=True)
    assert isinstance(numpy_state, tuple)  # legacy=True: the MT19937 tuple, never a dict
    kind, keys, position, has_gauss, cached = numpy_state
    return {
        "torch": torch.get_rng_state(),
        "torch.cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, cached],
        "python": [version, list(python_state), gauss],
    }


def restore(states: dict[str, Any]) -> None:
    """Set this process's generators to `states` (made by `collect`)."""
    torch.set_rng_state(states["torch"])
    if states["torch.cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["torch.cuda"])
    kind, keys, position, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, cached))
    version, python_state, gauss = states["python"]
    random.setstate((version, tuple(python_state), gauss))


class RandomStates(Callback):
    """Save the generators' states with each checkpoint; restore them when a fit resumes from one."""

    def on_save_checkpoint(
        self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        checkpoint[KEY] = collect()

    def on_load_checkpoint(
        self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        if KEY in checkpoint:  # absent from checkpoints made before this callback existed
            restore(checkpoint[KEY])
