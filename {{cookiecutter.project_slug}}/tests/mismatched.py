"""Classes that do not fit small_project.py's, or the template's expectations, for the tests of
test_any_model.py: mistakes and misfits a user's own classes can have.

- `WideRegressor`: DictRegressor expecting five features where LineData has four;
- `PlainLineData`: LineData with plain `int` arguments, where BlobsData's are range-checked types;
- `SlowLineData`: LineData whose rows take a while to load, as decoded images would;
- `Network`: a torch module, not a LightningModule;
- `NoForward`: a LightningModule whose steps call its layer directly, with nothing to compile;
- `FailsLater` and `Misspelt`: bugs, which keep their traceback (one after the first step, one of
  code in it).
"""

from __future__ import annotations

import time

from typing import Any

import torch
from lightning.pytorch import LightningModule
from torch import nn
from torch.utils.data import DataLoader

from small_project import FEATURES, DictBatch, DictRegressor, LineData, LineRows


class WideRegressor(DictRegressor):
    """A regressor of FEATURES + 1 features: its first step fails on LineData's batches."""

    def __init__(self, learning_rate: float = 0.05) -> None:
        super().__init__(learning_rate)
        self.layer = nn.Linear(FEATURES + 1, 1)


class PlainLineData(LineData):
    """LineData whose arguments are typed plain `int`."""

    def __init__(self, batch_size: int = 16, seed: int = 0) -> None:
        super().__init__(batch_size, seed)


class SlowRows(LineRows):
    """LineRows that take 10 ms a row: 160 ms a batch, where a step of DictRegressor takes 2-50 ms
    (the longest on a busy machine)."""

    def __getitem__(self, index: int) -> DictBatch:
        time.sleep(0.01)
        return super().__getitem__(index)


class SlowLineData(LineData):
    """LineData whose training rows load slowly, from an ordinary loader without workers."""

    def train_dataloader(self) -> DataLoader[DictBatch]:
        return DataLoader(SlowRows(160, self.seed), self.batch_size, shuffle=True)


class Network(nn.Module):
    """A torch network: what a LightningModule trains, not one itself."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(FEATURES, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        output: torch.Tensor = self.layer(features)
        return output


class NoForward(DictRegressor):
    """DictRegressor without a forward: its steps call the layer itself."""

    forward = LightningModule.forward  # LightningModule's own: none of its own

    def training_step(self, batch: DictBatch, batch_idx: int) -> torch.Tensor:
        prediction = self.layer(batch["features"]).squeeze(-1)
        loss: torch.Tensor = torch.nn.functional.mse_loss(prediction, batch["target"])
        return loss


class FailsLater(DictRegressor):
    """Fits LineData, then fails with a RuntimeError at its third training step."""

    def training_step(self, batch: DictBatch, batch_idx: int) -> torch.Tensor:
        if batch_idx == 2:
            raise RuntimeError("a bug at the third step")
        return super().training_step(batch, batch_idx)


class Misspelt(DictRegressor):
    """A misspelt attribute in its validation step: an AttributeError at the first step."""

    def validation_step(self, batch: DictBatch, batch_idx: int) -> None:
        misspelt: Any = self  # typed Any, as mypy would otherwise catch the misspelling
        misspelt.lgo("val/loss", 0.0)
