"""MLflow records the run in a local SQLite store under runs/, offline."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from {{ cookiecutter.package_name }}.infra.cli import main
from {{ cookiecutter.package_name }}.infra.training.lightning_cli import build

QUIET = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]


def test_mlflow_store_holds_the_run_metrics_and_provenance(in_tmp_dir: Path) -> None:
    cli = build(["fit", "--trainer.max_epochs=1", *QUIET])
    client = MlflowClient(tracking_uri=f"sqlite:///{in_tmp_dir / 'runs' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("{{ cookiecutter.package_name }}")
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id])  # this test's run alone
    assert run.data.metrics["val/acc"] == cli.trainer.callback_metrics["val/acc"].item()
    assert run.data.params["provenance/seed"] == "0"


def test_a_tracking_uri_with_a_password_is_refused_before_anything_is_written(
    in_tmp_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = "--trainer.logger.init_args.tracking_uri=https://me:hunter2@mlflow.example.com"
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", uri])
    assert exit_info.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    # The MLflow logger is the second of the list that defaults.yaml gives.
    assert line.startswith(
        "error: trainer.logger[1].init_args.tracking_uri holds a URL with a password"
    )
    assert line.endswith("MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN)")
    assert "hunter2" not in line
    assert not (in_tmp_dir / "runs").exists()
