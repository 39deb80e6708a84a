"""The CSV logger writes the run's metrics into the run directory."""

from __future__ import annotations

import csv
from pathlib import Path

from {{ cookiecutter.package_name }}.infra.training import build

QUIET = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]


def test_metrics_csv_holds_validation_accuracy(in_tmp_dir: Path) -> None:
    cli = build(["fit", "--trainer.max_epochs=1", *QUIET])
    with open(Path(cli.trainer.log_dir or "") / "metrics.csv") as file:
        rows = [row for row in csv.DictReader(file) if row["val/acc"]]
    assert len(rows) == 1
    assert float(rows[0]["val/acc"]) == cli.trainer.callback_metrics["val/acc"].item()
