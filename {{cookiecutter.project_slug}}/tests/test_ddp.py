"""DDP on the CPU (gloo): two processes train the example as one process does at the same global
batch, and an ordinary data module is split between the processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

HELPER = Path(__file__).with_name("ddp_fit.py")
SHARDS = Path(__file__).with_name("ddp_shards.py")
# Summing gradients over ranks instead of over one batch reorders float additions: weights after
# 57 steps of AdamW agree to about 1e-6; 1e-4 leaves margin without hiding a wrong batch or sampler.
WEIGHT_TOLERANCE = 1e-4


def _fit(devices: int, folder: Path, *extra: str) -> list[dict[str, Any]]:
    folder.mkdir()
    command = [sys.executable, str(HELPER), str(devices), *extra]
    subprocess.run(command, cwd=folder, check=True, timeout=300)
    return [torch.load(folder / f"rank{rank}.pt") for rank in range(devices)]


def test_two_cpu_processes_match_one_process_and_each_other(tmp_path: Path) -> None:
    (single,) = _fit(1, tmp_path / "single")
    rank0, rank1 = _fit(2, tmp_path / "ddp")

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


def test_the_regression_example_matches_one_process_too(tmp_path: Path) -> None:
    # The second example, chosen by its preset: a model that logs val/loss and no accuracy.
    (single,) = _fit(1, tmp_path / "single", "--preset", "diabetes", "--data.batch_size=32")
    rank0, rank1 = _fit(2, tmp_path / "ddp", "--preset", "diabetes", "--data.batch_size=32")
    assert rank0["metrics"]["val/loss"] == rank1["metrics"]["val/loss"]
    for name, weight in rank0["weights"].items():
        assert torch.equal(weight, rank1["weights"][name]), f"ranks hold different {name}"
        difference = (weight - single["weights"][name]).abs().max().item()
        assert difference < WEIGHT_TOLERANCE, f"{name} differs from 1 process by {difference}"
    assert rank0["metrics"]["val/loss"] == pytest.approx(single["metrics"]["val/loss"], abs=1e-4)


def test_a_plain_data_module_gives_the_two_processes_disjoint_shards_that_cover_the_data(
    tmp_path: Path,
) -> None:
    subprocess.run([sys.executable, str(SHARDS)], cwd=tmp_path, check=True, timeout=300)
    rank0, rank1 = (torch.load(tmp_path / f"seen{rank}.pt") for rank in range(2))
    assert len(rank0) == len(rank1) == 32, "each process reads half of the 64 samples"
    assert not set(rank0) & set(rank1), "a sample was read by both processes"
    assert sorted(rank0 + rank1) == list(range(64))
