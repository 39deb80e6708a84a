"""The training logic: loss, metrics, optimizer and schedule around the network in `model.py`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from jsonargparse.typing import NonNegativeFloat, PositiveInt
from lightning.pytorch import LightningDataModule, LightningModule
from lightning.pytorch.utilities.types import OptimizerLRSchedulerConfig

from {{ cookiecutter.package_name }}.model import ConvNet

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Batch = tuple[torch.Tensor, torch.Tensor]


class Classifier(LightningModule):
    """Cross-entropy classification with AdamW and a cosine learning-rate schedule stepped per batch."""

    def __init__(
        self,
        num_classes: PositiveInt = 10,
        channels: PositiveInt = 32,
        hidden: PositiveInt = 128,
        learning_rate: NonNegativeFloat = 3e-3,
        weight_decay: float = 1e-4,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = ConvNet(num_classes, channels, hidden)
        # One input of the data's shape: the model summary shows real FLOPs and sizes, not 0.
        self.example_input_array = torch.zeros(1, 1, 8, 8)
        self.learning_rate: float = learning_rate
        self.weight_decay = weight_decay

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.net(images)
        return logits

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        images, labels = batch
        loss = F.cross_entropy(self(images), labels)
        # Not on the progress bar: that would copy it to the CPU every step and stall the GPU.
        # The bar shows it through LiveLossProgressBar instead, without a sync.
        self.log("train/loss", loss, on_step=True, on_epoch=True)
        return loss

    def _evaluate(self, batch: Batch, stage: str) -> None:
        images, labels = batch
        logits = self(images)
        loss = F.cross_entropy(logits, labels)
        accuracy = (logits.argmax(dim=1) == labels).float().mean()
        # Averaged over the epoch and across processes, so every rank reports the same value.
        self.log(f"{stage}/loss", loss, sync_dist=True)
        self.log(f"{stage}/acc", accuracy, prog_bar=True, sync_dist=True)

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def predict_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        images, _ = batch
        return self.forward(images).argmax(dim=1)

    def report_figures(self, data: LightningDataModule) -> dict[str, Figure]:
        # `report` adds these to the run's learning curves and provenance. Imported here, so that
        # training does not import matplotlib.
        from {{ cookiecutter.package_name }}.figures import classifier_figures

        return classifier_figures(self, data)

    def configure_optimizers(self) -> OptimizerLRSchedulerConfig:
        # Fused AdamW on a GPU: faster, and with fp16 its loss scaling needs no host sync per step.
        optimizer = torch.optim.AdamW(
            self.parameters(),
            lr=self.learning_rate,
            weight_decay=self.weight_decay,
            fused=self.device.type == "cuda",
        )
        total_steps = max(1, int(self.trainer.estimated_stepping_batches))
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=self.learning_rate, total_steps=total_steps
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}
