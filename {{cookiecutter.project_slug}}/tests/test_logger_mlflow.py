"""MLflow records the run in a local SQLite store under runs/, offline."""

from __future__ import annotations

from pathlib import Path

from mlflow.tracking import MlflowClient

from {{ cookiecutter.package_name }}.infra.training import build

QUIET = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]


def test_mlflow_store_holds_the_run_metrics_and_provenance(in_tmp_dir: Path) -> None:
    cli = build(["fit", "--trainer.max_epochs=1", *QUIET])
    client = MlflowClient(tracking_uri=f"sqlite:///{in_tmp_dir / 'runs' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("{{ cookiecutter.package_name }}")
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id])  # this test's run alone
    assert run.data.metrics["val/acc"] == cli.trainer.callback_metrics["val/acc"].item()
    assert run.data.params["provenance/seed"] == "0"
