"""Trainer settings that Lightning would refuse only after the run folder exists, refused at once."""

from __future__ import annotations

from typing import Any

from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal

# (setting, smallest value, what the fix is); num_nodes is the start-up check's (machine/cluster.py), as
# -1 (the multinode preset) takes the node count from the launcher.
LOWER_BOUNDS = (
    ("max_epochs", -1, "give 1 or more epochs, or -1 for no limit"),
    ("min_epochs", 0, "give 0 or more"),
    ("max_steps", -1, "give 1 or more steps, or -1 for no limit"),
    ("min_steps", 0, "give 0 or more"),
    ("accumulate_grad_batches", 1, "give 1 or more"),
    ("log_every_n_steps", 1, "give 1 or more"),
)


def check(trainer: Any) -> None:
    """Raise Refusal naming the first trainer setting out of its range, and the fix."""
    devices = trainer.devices
    if isinstance(devices, (list, tuple)):
        if not devices:
            raise Refusal("trainer.devices=[] names no device: give a count, or device indices")
    elif str(devices) != "auto" and "," not in str(devices):
        try:
            count = int(devices)
        except ValueError:
            raise Refusal(
                f"trainer.devices={devices} is not a count: give 1 or more, -1 or auto for all"
            ) from None
        if count == 0 or count < -1:
            raise Refusal(f"trainer.devices={devices}: give 1 or more, or -1 or auto for all")
    for name, lowest, fix in LOWER_BOUNDS:
        value = trainer.get(name)
        if isinstance(value, int) and value < lowest:
            raise Refusal(f"trainer.{name}={value}: {fix}")
