"""Helper of test_ddp.py, run as a script: several short CPU fits in one pair of DDP processes, each
rank saving what every fit ended with (`FOLDER/<name>/rank<R>.pt`).

`ddp_fit.py DEVICES FOLDER RUNS_JSON`: FOLDER absolute, RUNS_JSON mapping each run's name to its
fit arguments. One launch for all the runs: each process starts Python and imports torch once.
Lightning's DDP launcher starts the other ranks by running this same script again, with the same
arguments; the fits after the first reuse the processes and their process group.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import torch

from {{ cookiecutter.package_name }}.infra.training.lightning_cli import build


def fit_arguments(devices: int, extra: list[str]) -> list[str]:
    """`fit` on `devices` CPU processes, writing nothing but what the caller saves."""
    return [
        "fit",
        "--trainer.accelerator=cpu",
        f"--trainer.devices={devices}",
        f"--trainer.strategy={'ddp' if devices > 1 else 'auto'}",
        "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false",
        "--trainer.logger=false",
        "--trainer.default_root_dir=.",  # without a logger, the folder must be named
        "--trainer.enable_checkpointing=false",
        *extra,
    ]


def fit_and_save(devices: int, folder: Path, extra: list[str]) -> None:
    """Fit in `folder` (made here; a run writes its config.yaml there) and save there."""
    folder.mkdir(exist_ok=True)  # every rank makes it: they run side by side
    with contextlib.chdir(folder):
        cli = build(fit_arguments(devices, extra))
        rank = cli.trainer.global_rank
        metrics = {metric: float(value) for metric, value in cli.trainer.callback_metrics.items()}
        torch.save({"metrics": metrics, "weights": cli.model.state_dict()}, f"rank{rank}.pt")


if __name__ == "__main__":
    # An absolute folder: the launcher starts the other ranks in the folder of the first run.
    results = Path(sys.argv[2])
    for run_name, run_arguments in json.loads(sys.argv[3]).items():
        fit_and_save(int(sys.argv[1]), results / run_name, run_arguments)
