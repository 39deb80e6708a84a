"""Two DDP processes on the CPU (gloo) train the same model as one process at the same global batch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import torch

HELPER = Path(__file__).with_name("ddp_fit.py")
# Summing gradients over ranks instead of over one batch reorders float additions: weights after
# 57 steps of AdamW agree to about 1e-6; 1e-4 leaves margin without hiding a wrong batch or sampler.
WEIGHT_TOLERANCE = 1e-4


def _fit(devices: int, folder: Path) -> list[dict[str, Any]]:
    folder.mkdir()
    subprocess.run([sys.executable, str(HELPER), str(devices)], cwd=folder, check=True, timeout=300)
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
