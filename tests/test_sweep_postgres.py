"""Sweep workers on separate processes share one Optuna study through a real PostgreSQL server."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
import yaml
from conftest import TEMPLATE
from cookiecutter.main import cookiecutter  # type: ignore[import-untyped]  # no type hints
from services import PostgresServer, run_environment, start_postgres

# A real service: the slow tier (conftest.SLOW_TIER).
pytestmark = pytest.mark.slow

WORKERS = 2
TRIALS_PER_WORKER = 3
CHANNELS = {"values": [8, 16]}


def space_file(folder: Path, name: str, parameters: dict[str, object]) -> Path:
    """A sweep file of the study `name` that maximises val/acc over `parameters`."""
    space = folder / "space.yaml"
    document = {
        "name": name,
        "method": "random",
        "metric": {"name": "val/acc", "goal": "maximize"},
        "parameters": parameters,
    }
    space.write_text(yaml.safe_dump(document))
    return space


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


def test_two_workers_share_one_study_and_run_no_trial_twice(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    project = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(tmp_path)))
    learning_rate = {"distribution": "log_uniform_values", "min": 1.0e-4, "max": 1.0e-2}
    space = space_file(
        tmp_path, "shared", {"model.learning_rate": learning_rate, "model.channels": CHANNELS}
    )
    command = [sys.executable, "-m", "digit_classifier", "sweep", "--space", str(space)]
    command += ["--storage", postgres.url, "--trials", str(TRIALS_PER_WORKER), "--preset", "cpu"]
    command += [
        "--trainer.max_epochs=1",
        "--trainer.limit_train_batches=3",
        "--trainer.limit_val_batches=2",
        "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false",
    ]
    workers = [
        subprocess.Popen(
            command,
            cwd=project,
            env=run_environment(project),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(WORKERS)
    ]
    outputs = [worker.communicate(timeout=600)[0] for worker in workers]
    for worker, output in zip(workers, outputs):
        assert worker.returncode == 0, output[-3000:]

    study = optuna.load_study(study_name="shared", storage=postgres.url)
    total = WORKERS * TRIALS_PER_WORKER
    assert sorted(trial.number for trial in study.trials) == list(range(total))
    assert {trial.state for trial in study.trials} == {optuna.trial.TrialState.COMPLETE}
    # Every worker ran trials, and no trial ran in both: the database handed out each one once.
    ran = [set(re.findall(r"^trial (\d+): --", output, re.MULTILINE)) for output in outputs]
    assert all(len(numbers) == TRIALS_PER_WORKER for numbers in ran), ran
    assert set.union(*ran) == {str(number) for number in range(total)}
    # The trials' folders are the study's own, named with the id it was made with.
    folder = project / "runs" / "sweeps" / study.user_attrs["run_folder"]
    assert re.fullmatch(r"shared-[0-9a-f]{8}", folder.name)
    runs = sorted(path.name for path in folder.iterdir())
    assert runs == [f"trial-{number:04d}" for number in range(total)]
