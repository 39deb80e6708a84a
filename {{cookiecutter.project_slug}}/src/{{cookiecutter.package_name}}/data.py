"""The example data: scikit-learn's handwritten digits (1,797 8×8 images), bundled with the library."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import sklearn.datasets
import torch
from lightning.pytorch import LightningDataModule
from jsonargparse.typing import NonNegativeInt, PositiveInt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, TensorDataset

from {{ cookiecutter.package_name }}.infra import (
    Fingerprint,
    GlobalBatchSampler,
    batched_loader,
    fingerprint_files,
)

NUM_CLASSES = 10
IMAGE_SHAPE = (1, 8, 8)
# The file load_digits reads: scikit-learn ships it.
DIGITS_FILE = Path(sklearn.datasets.__file__).parent / "data" / "digits.csv.gz"


class DigitsDataModule(LightningDataModule):
    """Stratified train/val/test splits of the digits, as float images in [0, 1] and integer labels.

    `batch_size` is the global batch: each of N processes loads `batch_size / N` samples a step, and
    the same seed gives the same global batches whatever N is, so a DDP run matches a 1-process run
    (GlobalBatchSampler; an ordinary `DataLoader(shuffle=True)` would do too, with per-process
    batches, since Lightning shards it under DDP).
    """

    def __init__(
        self,
        batch_size: PositiveInt = 64,
        val_fraction: float = 0.15,
        test_fraction: float = 0.15,
        split_seed: NonNegativeInt = 0,
        num_workers: NonNegativeInt = 0,
    ) -> None:
        super().__init__()
        if not 0 < val_fraction + test_fraction < 1:
            raise ValueError(
                f"val_fraction + test_fraction must lie between 0 and 1, got {val_fraction + test_fraction}"
            )
        self.batch_size: int = batch_size
        self.val_fraction = val_fraction
        self.test_fraction = test_fraction
        self.split_seed = split_seed
        self.num_workers: int = num_workers
        self.splits: dict[str, TensorDataset] = {}

    @property
    def global_batch_size(self) -> int:
        """The batch all processes share: the training command checks that they can split it."""
        return self.batch_size

    def data_fingerprint(self) -> Fingerprint:
        """What identifies the data, for each run's provenance: the contents of the file it reads."""
        return fingerprint_files(DIGITS_FILE)

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        digits = load_digits()
        images = (digits.images / 16.0).astype(np.float32).reshape(-1, *IMAGE_SHAPE)
        labels = digits.target.astype(np.int64)
        held_out = self.val_fraction + self.test_fraction
        x_train, x_rest, y_train, y_rest = train_test_split(
            images, labels, test_size=held_out, stratify=labels, random_state=self.split_seed
        )
        x_val, x_test, y_val, y_test = train_test_split(
            x_rest,
            y_rest,
            test_size=self.test_fraction / held_out,
            stratify=y_rest,
            random_state=self.split_seed,
        )
        for name, x, y in (
            ("train", x_train, y_train),
            ("val", x_val, y_val),
            ("test", x_test, y_test),
        ):
            self.splits[name] = TensorDataset(torch.from_numpy(x), torch.from_numpy(y))

    def _loader(self, split: str, train: bool) -> DataLoader[tuple[torch.Tensor, ...]]:
        batches = GlobalBatchSampler(
            self.splits[split],
            self.batch_size,
            self.trainer,
            shuffle=train,
            seed=self.split_seed,
            drop_last=train,
        )
        return batched_loader(self.splits[split], batches, self.num_workers)

    def train_dataloader(self) -> DataLoader[tuple[torch.Tensor, ...]]:
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader[tuple[torch.Tensor, ...]]:
        return self._loader("val", train=False)

    def test_dataloader(self) -> DataLoader[tuple[torch.Tensor, ...]]:
        return self._loader("test", train=False)

    def predict_dataloader(self) -> DataLoader[tuple[torch.Tensor, ...]]:
        return self._loader("test", train=False)
