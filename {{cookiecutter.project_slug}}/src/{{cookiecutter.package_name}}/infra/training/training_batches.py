"""Refuse a fit whose training loader yields no batch, before it writes anything.

Lightning would log "no training batches", skip training and exit 0: a run that trained nothing, with
a run folder and a success code. This happens when the batch is larger than the training set (its
sampler drops the last, partial batch), or when trainer.limit_train_batches leaves no batch.
"""

from __future__ import annotations

from collections.abc import Sized

from lightning.pytorch import Callback, LightningModule, Trainer

from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal


class RequireTrainingBatches(Callback):
    """At setup (data set up, nothing written yet), count the training loader's batches."""

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        datamodule = getattr(trainer, "datamodule", None)  # set by fit, untyped in Lightning
        limit = trainer.limit_train_batches
        if limit == 0:
            raise Refusal(
                "trainer.limit_train_batches=0 trains on no batch: give a fraction above 0, or a "
                "number of batches (1 or more)"
            )
        loader = (datamodule or pl_module).train_dataloader()
        if not isinstance(loader, Sized):
            return  # an iterable loader's length is unknown until it runs
        if len(loader) > 0 and isinstance(limit, float) and int(len(loader) * limit) == 0:
            raise Refusal(
                f"trainer.limit_train_batches={limit} is less than one of the {len(loader)} "
                f"training batches: give at least {1 / len(loader):.2g}, or a number of batches"
            )
        if len(loader) > 0:
            return
        dataset = getattr(loader, "dataset", None)
        samples = f"{len(dataset)} samples" if isinstance(dataset, Sized) else "too few samples"
        raise Refusal(
            f"no training batches: the training set has {samples}, fewer than one batch; "
            "lower data.batch_size"
        )
