"""Fast loading of in-memory tensors, and batches that are the same whatever the number of processes.

Lightning gives an ordinary DataLoader a DistributedSampler under DDP (`trainer.use_distributed_sampler`,
on by default), so every process reads its own shard. `GlobalBatchSampler` is for data modules that
want more: the same global batches at every world size, so a DDP run repeats a one-process run. It
is a DistributedSampler itself, which Lightning leaves in place.

Lightning advises more loader workers for any loader with fewer than two, on a machine with more
than two cores: every run on a laptop or a GPU box prints it, once per loader, whether loading is
slow or not. Where a batch is already in memory (`batched_loader`, or an ordinary DataLoader over
tensors) the advice is wrong, as a worker only adds a copy between processes; where each sample is
decoded or augmented it is right. Which of the two a loader is shows in how long the training loop
waits for it, so `LoaderWaitAdvice` measures that and advises workers, in one line, only where the
loop waits for its loader most of its time and milliseconds a batch (quiet.py drops Lightning's).
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Iterator
from typing import Any, cast

import torch
from lightning.fabric.utilities.data import suggested_max_num_workers
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import TQDMProgressBar
from lightning.pytorch.trainer.states import RunningStage
from lightning.pytorch.utilities.combined_loader import CombinedLoader
from lightning.pytorch.utilities.data import _update_dataloader
from torch.utils.data import (
    DataLoader,
    Dataset,
    DistributedSampler,
    Sampler,
    SequentialSampler,
    TensorDataset,
)

from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal


def check_global_batch(global_batch_size: int, processes: int) -> None:
    """Refuse a global batch that the processes cannot share equally.

    The training command asks this before it starts any process, of a data module that has a
    `global_batch_size` attribute, so a bad pair is one line, not a traceback from every process.
    """
    if global_batch_size % processes:
        raise Refusal(
            f"data.batch_size={global_batch_size} is not divisible by the {processes} "
            f"processes: choose a multiple of {processes}"
        )


class GlobalBatchSampler(DistributedSampler[list[int]]):
    """Batches of `global_batch_size` samples, `global_batch_size / world size` of them per process.

    All processes shuffle with one seed and epoch; process r takes every N-th index of that order,
    so the N processes' batches together are exactly the batches of one process. Lightning calls
    `set_epoch` on it at each epoch, so each epoch shuffles anew.
    """

    def __init__(
        self,
        dataset: Dataset[object],
        global_batch_size: int,
        trainer: Trainer | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        # Outside a trainer (a notebook, a test) it loads as one process.
        world_size, rank = (trainer.world_size, trainer.global_rank) if trainer else (1, 0)
        check_global_batch(global_batch_size, world_size)
        super().__init__(
            dataset,
            num_replicas=world_size,
            rank=rank,
            shuffle=shuffle,
            seed=seed,
            drop_last=drop_last,
        )
        self.batch_size = global_batch_size // world_size

    def __iter__(self) -> Iterator[list[int]]:
        # DistributedSampler yields this process's indices; its type parameter here is the batch.
        indices = list(cast(Iterator[int], super().__iter__()))
        for start in range(0, len(indices), self.batch_size):
            batch = indices[start : start + self.batch_size]
            if len(batch) == self.batch_size or not self.drop_last:
                yield batch

    def __len__(self) -> int:
        samples = super().__len__()
        if self.drop_last:
            return samples // self.batch_size
        return -(-samples // self.batch_size)


class TensorBatchLoader(DataLoader[tuple[torch.Tensor, ...]]):
    """The loader `batched_loader` makes: tensors in memory, gathered a whole batch at a time."""


def batched_loader(
    dataset: TensorDataset, batches: Sampler[list[int]], num_workers: int = 0
) -> TensorBatchLoader:
    """A loader that gathers each batch with one indexing operation per tensor.

    The usual per-sample `dataset[i]` and stacking costs far more CPU time than the small models
    here take on a GPU; indexing the tensors with the whole batch of indices at once keeps the input
    pipeline well ahead of training (`bench` reports its ceiling).
    """
    return TensorBatchLoader(
        dataset,
        batch_size=None,  # each "index" the sampler yields is already a whole batch
        sampler=batches,
        num_workers=num_workers,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=num_workers > 0,
    )


def overfit_without_shuffling(combined_loader: CombinedLoader, mode: RunningStage) -> None:
    """Lightning's `overfit_batches` (the overfit preset) stops shuffling by making each loader
    again over a SequentialSampler of single samples; a `batched_loader` would then yield single
    samples, not batches. Its batch sampler stops shuffling instead; Lightning re-makes the others
    as it always does."""
    loaders = combined_loader.flattened
    for loader in loaders:
        if isinstance(loader, TensorBatchLoader) and isinstance(loader.sampler, DistributedSampler):
            loader.sampler.shuffle = False
    combined_loader.flattened = [
        (
            loader
            if isinstance(loader, TensorBatchLoader) or not hasattr(loader, "dataset")
            else _update_dataloader(loader, sampler=SequentialSampler(loader.dataset), mode=mode)
        )
        for loader in loaders
    ]


# Lightning's function, as the loops that call it import it (lightning_fixes.py checks they do).
OVERFIT_RESOLVER = "_resolve_overfit_batches"
OVERFIT_LOOPS = ("lightning.pytorch.loops.fit_loop", "lightning.pytorch.loops.evaluation_loop")


def keep_batches_when_overfitting() -> None:
    """Make Lightning's loops use `overfit_without_shuffling` (idempotent)."""
    for loop in OVERFIT_LOOPS:
        setattr(importlib.import_module(loop), OVERFIT_RESOLVER, overfit_without_shuffling)


class LoaderWaitAdvice(Callback):
    """Advise more loader workers, once, where the training loop waits for its loader for most of
    its time: over the first `BATCHES` batches after the first (which starts the loader and may
    compile), or the first epoch if it is shorter.

    The wait before a batch is the time from the end of the previous one to its start: mostly
    fetching it (Lightning fetches the next batch there), plus Lightning's own work between steps.
    A loader that takes more than `SHARE` of the loop's time, and `WAIT` seconds or more a batch,
    with workers free on this machine, would let training go faster with more of them. A shorter
    wait is in-memory data, where a worker's hand-off of each batch to the loop costs about what
    it saves (and a tiny model's step, all overhead, can be as short: the share alone would
    advise workers for a few rows of tensors, measured at 25-52% on a busy 2-core machine).
    """

    BATCHES = 50
    SHARE = 0.5
    WAIT = 0.01  # seconds a batch: a decoded, augmented batch of images takes ten times as long

    def __init__(self) -> None:
        self.waited = self.stepped = 0.0
        self.measured = 0
        self.batch_end: float | None = None  # None: the next wait is not a fetch, leave it out
        self.batch_start = 0.0
        self.done = False

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.batch_end = None  # the first batch of an epoch starts its loader

    def on_validation_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.batch_end = None  # validation within an epoch is not waiting for the loader

    def on_train_batch_start(
        self, trainer: Trainer, pl_module: LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self.batch_start = time.perf_counter()
        if self.batch_end is not None and not self.done:
            self.waited += self.batch_start - self.batch_end
            self.measured += 1

    def on_train_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        self.batch_end = time.perf_counter()
        if self.measured:
            self.stepped += self.batch_end - self.batch_start
        if self.measured >= self.BATCHES:
            self._advise(trainer)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if self.measured >= 3:  # fewer say nothing (fast_dev_run's one batch)
            self._advise(trainer)

    def _advise(self, trainer: Trainer) -> None:
        if self.done:
            return
        self.done = True
        share = self.waited / max(self.waited + self.stepped, 1e-9)
        slow = share > self.SHARE and self.waited / self.measured >= self.WAIT
        workers = getattr(trainer.train_dataloader, "num_workers", None)
        most = suggested_max_num_workers(trainer.num_devices)
        if not slow or not isinstance(workers, int) or workers >= most:
            return
        if trainer.is_global_zero:
            message = (
                f"note: training waited for its DataLoader {share:.0%} of the time "
                f"(num_workers={workers}): more workers, up to {most} here, may make it faster"
            )
            bar = trainer.progress_bar_callback
            if isinstance(bar, TQDMProgressBar) and bar.is_enabled:
                bar.print(message)  # between the bar's redraws, not through them
            else:
                print(message, file=sys.stderr)
