"""Fast loading of in-memory tensors, and batches that are the same whatever the number of processes.

Lightning gives an ordinary DataLoader a DistributedSampler under DDP (`trainer.use_distributed_sampler`,
on by default), so every process reads its own shard. `GlobalBatchSampler` is for data modules that
want more: the same global batches at every world size, so a DDP run repeats a one-process run. It
is a DistributedSampler itself, which Lightning leaves in place.

Lightning advises more loader workers for any loader with fewer than two, on a machine with more
than two cores (every run on a laptop or a GPU box prints it, once per loader). For the loaders that
`batched_loader` makes without workers the advice is wrong: a batch is one indexing of tensors
already in memory, and a worker would only add a copy between processes. `quiet_worker_advice`
drops it for those loaders alone; every other loader keeps it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import torch
from lightning.pytorch import Trainer
from lightning.pytorch.trainer.connectors import data_connector
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler, TensorDataset

from {{ cookiecutter.package_name }}.infra.errors import Refusal


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


# Lightning's own check, kept before quiet_worker_advice replaces it.
LIGHTNING_WORKER_CHECK = data_connector._worker_check


def worker_check(trainer: Trainer, dataloader: object, name: str) -> None:
    """Lightning's worker check, skipped for a TensorBatchLoader without workers."""
    if isinstance(dataloader, TensorBatchLoader) and dataloader.num_workers == 0:
        return
    LIGHTNING_WORKER_CHECK(trainer=trainer, dataloader=dataloader, name=name)


def quiet_worker_advice() -> None:
    """Make Lightning run `worker_check` on each loader it is given (idempotent)."""
    data_connector._worker_check = worker_check
