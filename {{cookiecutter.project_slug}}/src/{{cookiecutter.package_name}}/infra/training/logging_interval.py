"""A training-step logging interval (`trainer.log_every_n_steps`) no longer than an epoch.

The default interval (defaults.yaml) suits a large data set; a small one has fewer batches an epoch,
and Lightning would then log the training loss only every few epochs and warn about it on every
fit. The interval is the most steps between two logged ones, so shortening it to the epoch keeps
what it asks for and logs at least once an epoch; it says nothing, as it changes nothing a user
chose to see (quiet.py drops Lightning's warning).
"""

from __future__ import annotations

import math
from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer


class LogEveryEpoch(Callback):
    """At the start of training, once the epoch's batches are counted: the interval at most that."""

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        batches = trainer.num_training_batches
        settings: Any = trainer  # Lightning sets log_every_n_steps on it at run time, untyped
        if 0 < batches < settings.log_every_n_steps and math.isfinite(batches):
            settings.log_every_n_steps = int(batches)
