"""DDP on the CPU (gloo): two processes train as one process does at the same global batch (the
tests' small project, through GlobalBatchSampler), an ordinary loader of dict batches trains the same
weights on every rank, and an ordinary data module is split between the processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import made_once
from ddp_fit import fit_and_save

HELPER = Path(__file__).with_name("ddp_fit.py")
# Summing gradients over ranks instead of over one batch reorders float additions: weights after
# 30 steps of Adam agree to about 1e-6; 1e-4 leaves margin without hiding a wrong batch or sampler.
WEIGHT_TOLERANCE = 1e-4
# Each run's fit arguments; all of them train in one launch of two DDP processes.
RUNS = {
    "blobs": ["--trainer.max_epochs=3", "--data.batch_size=16"],
    # An ordinary DataLoader of dict batches, sharded by Lightning: per-process batches.
    "line": [
        "--trainer.max_epochs=3",
        "--model=small_project.DictRegressor",
        "--model.learning_rate=0.1",  # or SmallClassifier's 0.02 carries over by name
        "--data=small_project.LineData",
        "--checkpoint.monitor=val/loss",
        "--checkpoint.mode=min",
    ],
    # An ordinary data module, chosen as a user chooses their own classes: by import path.
    "shards": [
        "--trainer.max_epochs=1",
        "--model=ddp_shards.RecordSamples",
        "--data=ddp_shards.PlainData",
    ],
}
Results = dict[str, Any]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with every run's results on two processes (`<run>/rank<R>.pt`) and, for blobs, on
    one (`blobs-single/rank0.pt`): made once, whichever workers run these tests."""

    def launch(folder: Path) -> None:
        command = [sys.executable, str(HELPER), "2", str(folder), json.dumps(RUNS)]
        subprocess.run(command, cwd=folder, check=True, timeout=600)
        fit_and_save(1, folder / "blobs-single", RUNS["blobs"])

    return made_once(tmp_path_factory, "ddp", launch)


def results(folder: Path, name: str, ranks: int = 2) -> list[Results]:
    return [torch.load(folder / name / f"rank{rank}.pt") for rank in range(ranks)]


def test_two_cpu_processes_match_one_process_and_each_other(runs: Path) -> None:
    (single,) = results(runs, "blobs-single", ranks=1)
    rank0, rank1 = results(runs, "blobs")

    # Validation metrics are synced across ranks; train/loss is each rank's own half-batch loss.
    synced = [name for name in rank0["metrics"] if name.startswith("val/")]
    assert synced == ["val/loss", "val/acc"]
    for name in synced:
        assert rank0["metrics"][name] == rank1["metrics"][name], f"ranks disagree on {name}"
    for name, weight in rank0["weights"].items():
        assert torch.equal(weight, rank1["weights"][name]), f"ranks hold different {name}"
        difference = (weight - single["weights"][name]).abs().max().item()
        assert difference < WEIGHT_TOLERANCE, f"{name} differs from 1 process by {difference}"
    assert abs(rank0["metrics"]["val/acc"] - single["metrics"]["val/acc"]) < 0.01
    assert rank0["metrics"]["val/acc"] > 0.9


def test_an_ordinary_loader_of_dict_batches_trains_the_same_weights_on_every_rank(
    runs: Path,
) -> None:
    rank0, rank1 = results(runs, "line")
    assert rank0["metrics"]["val/loss"] == rank1["metrics"]["val/loss"]
    for name, weight in rank0["weights"].items():
        assert torch.equal(weight, rank1["weights"][name]), f"ranks hold different {name}"
    # It learned: the targets' variance is 30; a fitted line leaves little of it.
    assert rank0["metrics"]["val/loss"] < 1.0


def test_a_plain_data_module_gives_the_two_processes_disjoint_shards_that_cover_the_data(
    runs: Path,
) -> None:
    rank0, rank1 = (torch.load(runs / "shards" / f"seen{rank}.pt") for rank in range(2))
    assert len(rank0) == len(rank1) == 32, "each process reads half of the 64 samples"
    assert not set(rank0) & set(rank1), "a sample was read by both processes"
    assert sorted(rank0 + rank1) == list(range(64))
