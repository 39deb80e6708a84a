"""Helper of test_ddp.py, run as a script: a short CPU fit whose every rank saves what it ended with.

`ddp_fit.py DEVICES [fit arguments]`; Lightning's DDP launcher starts the other ranks by running
this same script again, with the same arguments.
"""

from __future__ import annotations

import sys

import torch

from {{ cookiecutter.package_name }}.infra.training import build


def main(devices: int, extra: list[str]) -> None:
    cli = build(
        [
            "fit",
            "--trainer.accelerator=cpu",
            f"--trainer.devices={devices}",
            f"--trainer.strategy={'ddp' if devices > 1 else 'auto'}",
            "--trainer.max_epochs=3",
            "--trainer.enable_progress_bar=false",
            "--trainer.enable_model_summary=false",
            "--trainer.logger=false",
            "--trainer.enable_checkpointing=false",
            "--data.batch_size=64",
            *extra,
        ]
    )
    rank = cli.trainer.global_rank
    metrics = {name: float(value) for name, value in cli.trainer.callback_metrics.items()}
    torch.save({"metrics": metrics, "weights": cli.model.state_dict()}, f"rank{rank}.pt")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2:])
