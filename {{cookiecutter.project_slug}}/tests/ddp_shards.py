"""Classes of test_ddp.py's sharding run, named by import path as a user names their own: an
ordinary DataModule and a module that notes which samples its rank trained on.

Nothing here is distributed-aware: a plain `DataLoader(shuffle=True)`, as most data modules have.
"""

from __future__ import annotations

import torch
from lightning.pytorch import LightningDataModule, LightningModule
from torch.utils.data import DataLoader, TensorDataset


SAMPLES = 64


class PlainData(LightningDataModule):
    """Samples 0..63, each carrying its own index, in shuffled batches of 8."""

    def train_dataloader(self) -> DataLoader[tuple[torch.Tensor, ...]]:
        indices = torch.arange(SAMPLES)
        dataset = TensorDataset(indices.float().unsqueeze(1), indices)
        return DataLoader(dataset, batch_size=8, shuffle=True)


class RecordSamples(LightningModule):
    """A linear layer that notes the index of every sample its rank trains on."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(1, 1)
        self.seen: list[int] = []

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        inputs, indices = batch
        self.seen += indices.tolist()
        loss: torch.Tensor = self.layer(inputs).pow(2).mean()
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.01)

    def on_train_end(self) -> None:
        torch.save(self.seen, f"seen{self.global_rank}.pt")

