"""The CSV logger writes the run's metrics into the run directory."""

from __future__ import annotations

import csv

from conftest import FittedRun


def test_metrics_csv_holds_validation_accuracy(fitted_run: FittedRun) -> None:
    with open(fitted_run.directory / "metrics.csv") as file:
        rows = [row for row in csv.DictReader(file) if row["val/acc"]]
    assert [int(row["epoch"]) for row in rows] == list(range(fitted_run.epochs))
    assert float(rows[-1]["val/acc"]) == fitted_run.final_metrics["val/acc"]
