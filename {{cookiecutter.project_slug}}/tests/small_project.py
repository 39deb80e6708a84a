"""A small project of the tests' own: the tests of `infra/` train these classes, never the examples,
so what they prove holds for your model and data too, and they pass unchanged after
`nox -s drop_examples`. conftest.py names them in place of config.yaml (small_project.yaml).

- `SmallClassifier` on `BlobsData`: tensor batches `(features, labels)` from the template's
  `GlobalBatchSampler` and `batched_loader`, metrics `val/acc` (the monitored one) and `val/loss`;
  `BlobsFile` reads the same from a CSV file (`write_blobs`) and gives its data a fingerprint;
- `DictRegressor` on `LineData`: an ordinary `DataLoader` of dict batches, as most data modules have,
  and a plain `float` learning rate (switching `--model` to it must not carry a checked type over).

Their data is made from a seeded generator: nothing to download, the same on every machine, and
easy enough that a few epochs learn it (the tests check that they did).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from jsonargparse.typing import NonNegativeFloat, NonNegativeInt, PositiveInt
from lightning.pytorch import LightningDataModule, LightningModule
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from {{ cookiecutter.package_name }}.infra.records import fingerprints
from {{ cookiecutter.package_name }}.infra.training.batched_loading import (
    batched_loader,
    GlobalBatchSampler,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FEATURES = 4
CLASSES = 3
SAMPLES = 240  # 80 of each class
TensorBatch = tuple[torch.Tensor, torch.Tensor]
DictBatch = dict[str, torch.Tensor]


def blobs(seed: int) -> TensorDataset:
    """Three well separated Gaussian blobs in 4 dimensions, shuffled."""
    generator = torch.Generator().manual_seed(seed)
    centres = 3 * torch.eye(CLASSES, FEATURES)
    labels = torch.arange(SAMPLES) % CLASSES
    features = centres[labels] + torch.randn(SAMPLES, FEATURES, generator=generator)
    order = torch.randperm(SAMPLES, generator=generator)
    return TensorDataset(features[order], labels[order])


class BlobsData(LightningDataModule):
    """70/15/15 train/val/test splits of `blobs`, in global batches (the same at any world size)."""

    def __init__(self, batch_size: PositiveInt = 16, seed: NonNegativeInt = 0) -> None:
        super().__init__()
        self.batch_size: int = batch_size
        self.seed: int = seed
        self.splits: dict[str, TensorDataset] = {}

    @property
    def global_batch_size(self) -> int:
        return self.batch_size

    def rows(self) -> tuple[torch.Tensor, ...]:
        """(features, labels) of every sample."""
        return blobs(self.seed).tensors

    def setup(self, stage: str | None = None) -> None:
        features, labels = self.rows()
        bounds = {"train": (0, 168), "val": (168, 204), "test": (204, SAMPLES)}
        for split, (start, end) in bounds.items():
            self.splits[split] = TensorDataset(features[start:end], labels[start:end])

    def _loader(self, split: str, train: bool) -> DataLoader[tuple[torch.Tensor, ...]]:
        dataset = self.splits[split]
        batches = GlobalBatchSampler(
            dataset, self.batch_size, self.trainer, shuffle=train, seed=self.seed, drop_last=train
        )
        return batched_loader(dataset, batches)

    def train_dataloader(self) -> DataLoader[tuple[torch.Tensor, ...]]:
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader[tuple[torch.Tensor, ...]]:
        return self._loader("val", train=False)

    def test_dataloader(self) -> DataLoader[tuple[torch.Tensor, ...]]:
        return self._loader("test", train=False)

    def predict_dataloader(self) -> DataLoader[tuple[torch.Tensor, ...]]:
        return self._loader("test", train=False)


def write_blobs(path: Path, seed: int) -> None:
    """`blobs(seed)` as a CSV file: four features and the label a row."""
    features, labels = blobs(seed).tensors
    np.savetxt(path, torch.cat([features, labels[:, None].float()], dim=1).numpy(), delimiter=",")


class BlobsFile(BlobsData):
    """BlobsData read from the CSV file `path` (write_blobs), with a fingerprint of its contents."""

    def __init__(self, path: str, batch_size: PositiveInt = 16, seed: NonNegativeInt = 0) -> None:
        super().__init__(batch_size, seed)
        self.path = Path(path)

    def data_fingerprint(self) -> fingerprints.Fingerprint:
        return fingerprints.files(self.path)

    def rows(self) -> tuple[torch.Tensor, ...]:
        table = torch.from_numpy(np.loadtxt(self.path, delimiter=",", dtype=np.float32))
        return table[:, :FEATURES], table[:, FEATURES].long()


class SmallClassifier(LightningModule):
    """A two-layer MLP with cross-entropy and Adam; logs train/loss, val/loss, val/acc, test/acc."""

    def __init__(
        self,
        hidden: PositiveInt = 16,
        num_classes: PositiveInt = CLASSES,
        learning_rate: NonNegativeFloat = 0.02,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(
            nn.Linear(FEATURES, hidden), nn.ReLU(), nn.Linear(hidden, num_classes)
        )
        self.learning_rate: float = learning_rate

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.net(features)
        return logits

    def training_step(self, batch: TensorBatch, batch_idx: int) -> torch.Tensor:
        features, labels = batch
        loss = F.cross_entropy(self(features), labels)
        self.log("train/loss", loss, on_step=True, on_epoch=True)
        return loss

    def _evaluate(self, batch: TensorBatch, stage: str) -> None:
        features, labels = batch
        logits = self(features)
        self.log(f"{stage}/loss", F.cross_entropy(logits, labels), sync_dist=True)
        accuracy = (logits.argmax(dim=1) == labels).float().mean()
        self.log(f"{stage}/acc", accuracy, prog_bar=True, sync_dist=True)

    def validation_step(self, batch: TensorBatch, batch_idx: int) -> None:
        self._evaluate(batch, "val")

    def test_step(self, batch: TensorBatch, batch_idx: int) -> None:
        self._evaluate(batch, "test")

    def predict_step(self, batch: TensorBatch, batch_idx: int) -> torch.Tensor:
        features, _ = batch
        return self.forward(features).argmax(dim=1)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.learning_rate)

    def report_figures(self, data: LightningDataModule) -> dict[str, Figure]:
        """What `report` draws for this model beside every run's curves: accuracy per class."""
        from matplotlib.figure import Figure

        data.setup("test")
        correct, total = torch.zeros(CLASSES), torch.zeros(CLASSES)
        with torch.inference_mode():
            for features, labels in data.test_dataloader():
                predicted = self(features.to(self.device)).argmax(dim=1).cpu()
                total += torch.bincount(labels, minlength=CLASSES)
                correct += torch.bincount(labels[predicted == labels], minlength=CLASSES)
        figure = Figure(figsize=(5, 4))
        axes = figure.subplots()
        axes.bar(range(CLASSES), (correct / total).tolist())
        axes.set(xlabel="class", ylabel="test accuracy", ylim=(0, 1))
        return {"Accuracy per class (test split)": figure}


class LineRows(Dataset[DictBatch]):
    """Rows `{"features": x, "target": y}` with y a fixed linear function of x plus a little noise."""

    def __init__(self, rows: int, seed: int) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.features = torch.randn(rows, FEATURES, generator=generator)
        weights = torch.arange(1.0, FEATURES + 1)
        noise = 0.05 * torch.randn(rows, generator=generator)
        self.targets = self.features @ weights + noise

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> DictBatch:
        return {"features": self.features[index], "target": self.targets[index]}


class LineData(LightningDataModule):
    """Ordinary shuffled `DataLoader`s of dict rows; Lightning shards them under DDP."""

    def __init__(self, batch_size: PositiveInt = 16, seed: NonNegativeInt = 0) -> None:
        super().__init__()
        self.batch_size: int = batch_size
        self.seed: int = seed

    def train_dataloader(self) -> DataLoader[DictBatch]:
        return DataLoader(LineRows(160, self.seed), self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader[DictBatch]:
        return DataLoader(LineRows(48, self.seed + 1), self.batch_size)

    def test_dataloader(self) -> DataLoader[DictBatch]:
        return DataLoader(LineRows(48, self.seed + 2), self.batch_size)

    def predict_dataloader(self) -> DataLoader[DictBatch]:
        return self.test_dataloader()


class DictRegressor(LightningModule):
    """Linear regression of `target` on `features`: mean squared error, plain SGD; logs val/loss."""

    def __init__(self, learning_rate: float = 0.1) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.layer = nn.Linear(FEATURES, 1)
        self.learning_rate = learning_rate

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        prediction: torch.Tensor = self.layer(features).squeeze(-1)
        return prediction

    def training_step(self, batch: DictBatch, batch_idx: int) -> torch.Tensor:
        loss = F.mse_loss(self(batch["features"]), batch["target"])
        self.log("train/loss", loss, on_step=True, on_epoch=True)
        return loss

    def validation_step(self, batch: DictBatch, batch_idx: int) -> None:
        loss = F.mse_loss(self(batch["features"]), batch["target"])
        self.log("val/loss", loss, prog_bar=True, sync_dist=True)

    def test_step(self, batch: DictBatch, batch_idx: int) -> None:
        loss = F.mse_loss(self(batch["features"]), batch["target"])
        self.log("test/loss", loss, sync_dist=True)

    def predict_step(self, batch: DictBatch, batch_idx: int) -> torch.Tensor:
        return self.forward(batch["features"])

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.learning_rate)
