"""Helper of test_ddp.py, run as a script: several short CPU fits in one pair of DDP processes, each
rank saving what every fit ended with (`<name>-rank<R>.pt`).

`ddp_fit.py DEVICES RUNS_JSON`, RUNS_JSON mapping each run's name to its fit arguments. One launch
for all the runs: each process starts Python and imports torch once. Lightning's DDP launcher
starts the other ranks by running this same script again, with the same arguments; the fits after
the first reuse the processes and their process group.
"""

from __future__ import annotations

import json
import sys

import torch

from {{ cookiecutter.package_name }}.infra.training import build


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
        "--trainer.enable_checkpointing=false",
        *extra,
    ]


def fit_and_save(devices: int, name: str, extra: list[str]) -> None:
    cli = build(fit_arguments(devices, extra))
    rank = cli.trainer.global_rank
    metrics = {metric: float(value) for metric, value in cli.trainer.callback_metrics.items()}
    torch.save({"metrics": metrics, "weights": cli.model.state_dict()}, f"{name}-rank{rank}.pt")


if __name__ == "__main__":
    for run_name, run_arguments in json.loads(sys.argv[2]).items():
        fit_and_save(int(sys.argv[1]), run_name, run_arguments)
