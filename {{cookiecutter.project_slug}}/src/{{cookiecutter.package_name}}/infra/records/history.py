"""A run's metrics per epoch, read from its logger's own files: metrics.csv or TensorBoard events.

Every logger answer writes one of them into the run folder: the CSV logger comes first beside
Weights & Biases and MLflow, and TensorBoard writes event files. Values logged per step
(`*_step`) are left out; `train/loss_epoch` is read as `train/loss`. The epoch's value is the last
one logged in it, which is what the logger keeps for metrics logged once an epoch.
"""

from __future__ import annotations

import csv
from pathlib import Path

# A metric's values by epoch: {"val/acc": {0: 0.78, 1: 0.87}}.
History = dict[str, dict[int, float]]

CSV_FILE = "metrics.csv"  # Lightning's CSVLogger
EVENTS_GLOB = "events.out.tfevents.*"  # TensorBoard's event files
# Columns and tags that are bookkeeping, not metrics.
NOT_METRICS = {"epoch", "step", "hp_metric"}


def read(folder: Path) -> History:
    """The metrics of the run in `folder` by epoch; empty when it logged none (yet)."""
    if (folder / CSV_FILE).is_file():
        return from_csv(folder / CSV_FILE)
    if any(folder.glob(EVENTS_GLOB)):
        return from_events(folder)
    return {}


def metric_name(logged: str) -> str | None:
    """The name a logged column or tag stands for, or None for per-step values and bookkeeping."""
    if logged in NOT_METRICS or logged.endswith("_step"):
        return None
    return logged.removesuffix("_epoch")


def from_csv(path: Path) -> History:
    """Per-epoch metrics from a CSVLogger's metrics.csv (a row per logging call)."""
    history: History = {}
    with path.open(newline="") as file:
        for row in csv.DictReader(file):
            epoch = row.get("epoch")
            if not epoch:
                continue
            for column, value in row.items():
                name = metric_name(column)
                if name is not None and value:
                    history.setdefault(name, {})[int(float(epoch))] = float(value)
    return history


def from_events(folder: Path) -> History:
    """Per-epoch metrics from TensorBoard's event files; Lightning logs `epoch` at each step."""
    # Imported here: the tensorboard package is installed only where TensorBoard is the logger.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(folder), size_guidance={"scalars": 0})  # 0: keep every value
    events.Reload()
    tags = events.Tags()["scalars"]
    if "epoch" not in tags:
        return {}
    epoch_at_step = {event.step: int(event.value) for event in events.Scalars("epoch")}
    history: History = {}
    for tag in tags:
        name = metric_name(tag)
        if name is None:
            continue
        for event in events.Scalars(tag):
            if event.step in epoch_at_step:
                history.setdefault(name, {})[epoch_at_step[event.step]] = event.value
    return history
