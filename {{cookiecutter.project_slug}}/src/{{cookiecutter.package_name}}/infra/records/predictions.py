"""`predict` saves what it predicts in its run folder and says where, instead of dropping it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import BasePredictionWriter

from {{ cookiecutter.package_name }}.infra.records.checkpoints import atomic_save


class PredictionsFile(BasePredictionWriter):
    """predictions.pt in the run folder (one file per process under DDP): predict_step's outputs."""

    def __init__(self) -> None:
        super().__init__(write_interval="epoch")

    def write_on_epoch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        predictions: Sequence[Any],
        batch_indices: Sequence[Any],
    ) -> None:
        folder = Path(str(trainer.log_dir))  # a collective call under DDP: every rank must make it
        name = (
            "predictions.pt"
            if trainer.world_size == 1
            else f"predictions-rank{trainer.global_rank}.pt"
        )
        atomic_save({"predictions": predictions, "batch_indices": batch_indices}, folder / name)
        print(f"Predictions ({len(predictions)} batches): {folder / name}", flush=True)
