"""The regression example's model: a small MLP trained with mean squared error."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from jsonargparse.typing import NonNegativeFloat, PositiveInt
from lightning.pytorch import LightningModule
from torch import nn

Batch = tuple[torch.Tensor, torch.Tensor]


class Regressor(LightningModule):
    """An MLP that predicts one number from `features` inputs; logs train/loss and val/loss (MSE)."""

    def __init__(
        self,
        features: PositiveInt = 10,
        hidden: PositiveInt = 64,
        learning_rate: NonNegativeFloat = 3e-3,
        weight_decay: float = 1e-4,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(
            nn.Linear(features, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 1),
        )
        # One input of the data's shape: the model summary shows real FLOPs and sizes, not 0.
        self.example_input_array = torch.zeros(1, features)
        self.learning_rate: float = learning_rate
        self.weight_decay = weight_decay

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        prediction: torch.Tensor = self.net(features).squeeze(-1)
        return prediction

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        features, targets = batch
        loss = F.mse_loss(self(features), targets)
        self.log("train/loss", loss, on_step=True, on_epoch=True)
        return loss

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        features, targets = batch
        self.log("val/loss", F.mse_loss(self(features), targets), prog_bar=True, sync_dist=True)

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        features, targets = batch
        self.log("test/loss", F.mse_loss(self(features), targets), sync_dist=True)

    def predict_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        features, _ = batch
        return self.forward(features)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(
            self.parameters(),
            lr=self.learning_rate,
            weight_decay=self.weight_decay,
            fused=self.device.type == "cuda",
        )
