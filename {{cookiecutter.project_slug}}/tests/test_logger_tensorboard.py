"""The TensorBoard logger writes the run's metrics into the run directory, offline."""

from __future__ import annotations

from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from {{ cookiecutter.package_name }}.infra.training import build

QUIET = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]


def test_tensorboard_events_hold_validation_accuracy(in_tmp_dir: Path) -> None:
    cli = build(["fit", "--trainer.max_epochs=1", *QUIET])
    events = EventAccumulator(cli.trainer.log_dir or "")
    events.Reload()
    accuracy = events.Scalars("val/acc")
    assert len(accuracy) == 1
    assert accuracy[0].value == cli.trainer.callback_metrics["val/acc"].item()
