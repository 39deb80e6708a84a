"""The digits data module: shapes, splits and global batches."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import torch
from lightning.pytorch import Trainer

from {{ cookiecutter.package_name }}.data import IMAGE_SHAPE, NUM_CLASSES, DigitsDataModule
from {{ cookiecutter.package_name }}.infra.training.batched_loading import GlobalBatchSampler


def test_batches_are_float_images_in_unit_range_with_integer_labels() -> None:
    data = DigitsDataModule(batch_size=32)
    data.setup()
    images, labels = next(iter(data.train_dataloader()))
    assert images.shape == (32, *IMAGE_SHAPE) and images.dtype == torch.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert labels.dtype == torch.int64 and set(labels.tolist()) <= set(range(NUM_CLASSES))


def test_splits_are_disjoint_cover_all_1797_digits_and_keep_class_balance() -> None:
    data = DigitsDataModule(val_fraction=0.15, test_fraction=0.15)
    data.setup()
    sizes = {name: len(split) for name, split in data.splits.items()}
    assert sum(sizes.values()) == 1797
    assert sizes["val"] == sizes["test"] == 270
    # The 1,797 digit images are all distinct, so distinct rows across splits means no image is shared.
    rows = torch.cat([split.tensors[0].flatten(1) for split in data.splits.values()])
    assert len(torch.unique(rows, dim=0)) == 1797
    for split in data.splits.values():
        counts = torch.bincount(split.tensors[1], minlength=NUM_CLASSES).float()
        assert counts.min() / counts.max() > 0.8  # stratified: every class in every split


def test_the_same_seed_gives_the_same_split() -> None:
    first, second = DigitsDataModule(split_seed=3), DigitsDataModule(split_seed=3)
    first.setup()
    second.setup()
    assert torch.equal(first.splits["test"].tensors[1], second.splits["test"].tensors[1])


def _first_batch_indices(data: DigitsDataModule, world_size: int, rank: int) -> set[int]:
    data.trainer = cast(Trainer, SimpleNamespace(world_size=world_size, global_rank=rank))
    batches = data.train_dataloader().sampler
    first: list[int] = next(iter(batches))
    return set(first)


def test_each_epoch_shuffles_anew() -> None:
    data = DigitsDataModule(batch_size=64)
    data.setup()
    batches = data.train_dataloader().sampler
    # A DistributedSampler, which Lightning leaves in place under DDP and tells each new epoch.
    assert isinstance(batches, GlobalBatchSampler)
    first_epoch = next(iter(batches))
    batches.set_epoch(1)
    assert next(iter(batches)) != first_epoch


def test_two_ranks_together_load_the_one_process_global_batch() -> None:
    data = DigitsDataModule(batch_size=64)
    data.setup()
    single = _first_batch_indices(data, world_size=1, rank=0)
    rank0 = _first_batch_indices(data, world_size=2, rank=0)
    rank1 = _first_batch_indices(data, world_size=2, rank=1)
    assert len(single) == 64 and len(rank0) == len(rank1) == 32
    assert rank0 | rank1 == single
