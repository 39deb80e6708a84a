"""Refuse a fit whose training loader yields no batch, before it writes anything.

Lightning would log "no training batches", skip training and exit 0: a run that trained nothing, with
a run folder and a success code. This happens when the batch is larger than the training set (its
sampler drops the last, partial batch).
"""

from __future__ import annotations

from collections.abc import Sized

from lightning.pytorch import Callback, LightningModule, Trainer

from {{ cookiecutter.package_name }}.infra.errors import Refusal


class RequireTrainingBatches(Callback):
    """At setup (data set up, nothing written yet), count the training loader's batches."""

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        datamodule = getattr(trainer, "datamodule", None)  # set by fit, untyped in Lightning
        loader = (datamodule or pl_module).train_dataloader()
        if not isinstance(loader, Sized) or len(loader) > 0:
            return  # an iterable loader's length is unknown until it runs
        dataset = getattr(loader, "dataset", None)
        samples = f"{len(dataset)} samples" if isinstance(dataset, Sized) else "too few samples"
        raise Refusal(
            f"no training batches: the training set has {samples}, fewer than one batch; "
            "lower data.batch_size"
        )
