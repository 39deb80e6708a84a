"""A sweep's database password stays out of command lines, output and run records.

Two workers share one study on a real PostgreSQL server that asks for a password: one reads the
URL with its password from SWEEP_STORAGE, the other gives a URL without it and has the password
in a PGPASSFILE only its user can read (as ~/.pgpass). While they run, their command lines (and
their children's) are read from /proc; afterwards their output and every file under runs/ are
searched for the password.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from conftest import TEMPLATE
from cookiecutter.main import cookiecutter  # type: ignore[import-untyped]  # no type hints
from services import PostgresServer, run_environment, start_postgres
from test_sweep_postgres import CHANNELS, space_file

# A real service: the slow tier (conftest.SLOW_TIER).
pytestmark = pytest.mark.slow

PASSWORD = f"pw-{secrets.token_hex(12)}"


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = start_postgres(password=PASSWORD)
    try:
        yield server
    finally:
        server.stop()


def command_lines(pid: int) -> list[str]:
    """The command lines of a process and of all its descendants that are alive now."""
    found = []
    try:
        found.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except (FileNotFoundError, ProcessLookupError):
        return found
    for child in children:
        found += command_lines(int(child))
    return found


def test_the_password_shows_in_no_command_line_output_or_file(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    project = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(tmp_path)))
    space = space_file(tmp_path, "private", {"model.channels": CHANNELS})
    password_file = tmp_path / "pgpass"
    password_file.write_text(f"127.0.0.1:{postgres.port}:postgres:postgres:{PASSWORD}\n")
    password_file.chmod(0o600)  # the client ignores a password file that others can read
    command = [sys.executable, "-m", "digit_classifier", "sweep", "--space", str(space)]
    command += ["--trials", "1", "--preset", "cpu", "--trainer.max_epochs=1"]
    command += ["--trainer.limit_train_batches=3", "--trainer.limit_val_batches=2"]
    from_environment = {"SWEEP_STORAGE": postgres.url_with_password}
    from_password_file = {"PGPASSFILE": str(password_file)}
    workers = [
        subprocess.Popen(
            command + storage,
            cwd=project,
            env=run_environment(project, extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for storage, extra in (
            ([], from_environment),
            (["--storage", postgres.url], from_password_file),
        )
    ]
    seen: set[str] = set()
    while any(worker.poll() is None for worker in workers):
        for worker in workers:
            seen.update(command_lines(worker.pid))
        time.sleep(0.2)
    outputs = [worker.communicate()[0] for worker in workers]
    for worker, output in zip(workers, outputs):
        assert worker.returncode == 0, output[-3000:]

    assert seen and all(PASSWORD not in line for line in seen)
    assert all(PASSWORD not in output for output in outputs)
    # The worker that had the password in its URL printed the URL masked.
    assert (
        f"study private in postgresql+psycopg://postgres:***@127.0.0.1:{postgres.port}"
        in outputs[0]
    )
    files = [path for path in (project / "runs").rglob("*") if path.is_file()]
    assert any(path.name == "config.yaml" for path in files)  # the trials did write their records
    assert [path for path in files if PASSWORD.encode() in path.read_bytes()] == []
    study = optuna.load_study(study_name="private", storage=postgres.url_with_password)
    assert [trial.state for trial in study.trials] == [optuna.trial.TrialState.COMPLETE] * 2
    assert PASSWORD not in repr(study.user_attrs)
    assert os.environ.get("SWEEP_STORAGE") is None  # nothing leaked into this process either
