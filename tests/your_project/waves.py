"""A user's own project: noisy sine waves, and an MLP with dropout that predicts their amplitude."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from lightning.pytorch import LightningDataModule, LightningModule
from torch import nn
from torch.utils.data import DataLoader, Dataset

Rows = dict[str, torch.Tensor]


class Waves(Dataset[Rows]):
    """`count` waves of 32 samples each; the target is each wave's amplitude."""

    def __init__(self, count: int, seed: int) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.amplitude = 0.5 + torch.rand(count, generator=generator)
        phase = 2 * math.pi * torch.rand(count, 1, generator=generator)
        time = torch.linspace(0, 2 * math.pi, 32)
        noise = 0.05 * torch.randn(count, 32, generator=generator)
        self.signal = self.amplitude.unsqueeze(1) * torch.sin(time + phase) + noise

    def __len__(self) -> int:
        return len(self.amplitude)

    def __getitem__(self, index: int) -> Rows:
        return {"signal": self.signal[index], "amplitude": self.amplitude[index]}


class WaveData(LightningDataModule):
    def __init__(self, batch_size: int = 32) -> None:
        super().__init__()
        self.batch_size = batch_size

    def data_fingerprint(self) -> str:
        """Made from seeds, not files: a version of the generator names the data."""
        return "waves-v1"

    def train_dataloader(self) -> DataLoader[Rows]:
        return DataLoader(Waves(512, seed=1), batch_size=self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader[Rows]:
        return DataLoader(Waves(128, seed=2), batch_size=self.batch_size)

    def test_dataloader(self) -> DataLoader[Rows]:
        return DataLoader(Waves(128, seed=3), batch_size=self.batch_size)

    def predict_dataloader(self) -> DataLoader[Rows]:
        return DataLoader(Waves(64, seed=4), batch_size=self.batch_size)


class AmplitudeModel(LightningModule):
    def __init__(self, hidden: int = 64, dropout: float = 0.1, lr: float = 1e-3) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(
            nn.Linear(32, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1)
        )
        self.lr = lr

    def forward(self, signal: torch.Tensor) -> torch.Tensor:
        prediction: torch.Tensor = self.net(signal).squeeze(-1)
        return prediction

    def training_step(self, batch: Rows, batch_idx: int) -> torch.Tensor:
        loss = F.mse_loss(self(batch["signal"]), batch["amplitude"])
        self.log("train/loss", loss)
        return loss

    def validation_step(self, batch: Rows, batch_idx: int) -> None:
        loss = F.mse_loss(self(batch["signal"]), batch["amplitude"])
        self.log("val/loss", loss, sync_dist=True)

    def test_step(self, batch: Rows, batch_idx: int) -> None:
        loss = F.mse_loss(self(batch["signal"]), batch["amplitude"])
        self.log("test/loss", loss, sync_dist=True)

    def predict_step(self, batch: Rows, batch_idx: int) -> torch.Tensor:
        return self.forward(batch["signal"])

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.lr)
