"""The regression example's data: scikit-learn's diabetes study (442 patients), bundled with the library.

Ten standardised measurements (age, sex, body mass index, blood pressure, six blood serum values)
predict a measure of disease progression one year later, which is standardised here on the training
split, so predicting its mean gives a mean squared error of about 1.
"""

from __future__ import annotations

from pathlib import Path

import sklearn.datasets
import torch
from jsonargparse.typing import NonNegativeInt, PositiveInt
from lightning.pytorch import LightningDataModule
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, TensorDataset

from {{ cookiecutter.package_name }}.infra import (
    Fingerprint,
    GlobalBatchSampler,
    batched_loader,
    fingerprint_files,
)

# The files load_diabetes reads: scikit-learn ships them.
DIABETES_FILES = [
    Path(sklearn.datasets.__file__).parent / "data" / name
    for name in ("diabetes_data_raw.csv.gz", "diabetes_target.csv.gz")
]


class DiabetesDataModule(LightningDataModule):
    """Random train/val/test splits of the diabetes data as float features and targets.

    `batch_size` is the global batch, the same at every number of processes (GlobalBatchSampler).
    """

    def __init__(
        self,
        batch_size: PositiveInt = 32,
        val_fraction: float = 0.2,
        test_fraction: float = 0.2,
        split_seed: NonNegativeInt = 0,
    ) -> None:
        super().__init__()
        self.batch_size: int = batch_size
        self.val_fraction = val_fraction
        self.test_fraction = test_fraction
        self.split_seed = split_seed
        self.splits: dict[str, TensorDataset] = {}

    @property
    def global_batch_size(self) -> int:
        """The batch all processes share: the training command checks that they can split it."""
        return self.batch_size

    def data_fingerprint(self) -> Fingerprint:
        """What identifies the data, for each run's provenance: the contents of the files it reads."""
        return fingerprint_files(*DIABETES_FILES)

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        features, target = load_diabetes(return_X_y=True, scaled=True)
        x = torch.tensor(features, dtype=torch.float32)
        y = torch.tensor(target, dtype=torch.float32)
        held_out = self.val_fraction + self.test_fraction
        indices = torch.arange(len(y)).numpy()
        train, rest = train_test_split(indices, test_size=held_out, random_state=self.split_seed)
        val, test = train_test_split(
            rest, test_size=self.test_fraction / held_out, random_state=self.split_seed
        )
        # Statistics of the training split only: nothing about val or test leaks into training.
        mean, std = y[train].mean(), y[train].std()
        for name, rows in (("train", train), ("val", val), ("test", test)):
            self.splits[name] = TensorDataset(x[rows], (y[rows] - mean) / std)

    def _loader(self, split: str, train: bool) -> DataLoader[tuple[torch.Tensor, ...]]:
        batches = GlobalBatchSampler(
            self.splits[split],
            self.batch_size,
            self.trainer,
            shuffle=train,
            seed=self.split_seed,
            drop_last=train,
        )
        return batched_loader(self.splits[split], batches)

    def train_dataloader(self) -> DataLoader[tuple[torch.Tensor, ...]]:
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader[tuple[torch.Tensor, ...]]:
        return self._loader("val", train=False)

    def test_dataloader(self) -> DataLoader[tuple[torch.Tensor, ...]]:
        return self._loader("test", train=False)

    def predict_dataloader(self) -> DataLoader[tuple[torch.Tensor, ...]]:
        return self._loader("test", train=False)
