"""The TensorBoard logger writes the run's metrics into the run directory, offline."""

from __future__ import annotations

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import FittedRun


def test_tensorboard_events_hold_validation_accuracy(fitted_run: FittedRun) -> None:
    events = EventAccumulator(str(fitted_run.directory))
    events.Reload()
    accuracy = events.Scalars("val/acc")
    assert [event.step for event in accuracy] == sorted({event.step for event in accuracy})
    assert len(accuracy) == fitted_run.epochs
    assert accuracy[-1].value == fitted_run.final_metrics["val/acc"]
