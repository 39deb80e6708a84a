"""`runs`: one line per run, read from the runs' own records, which it never changes.

The finished run is the session's fitted run, copied; a live run is a copy whose lock this test
process holds; a killed run is a copy whose lock a process held when it was SIGKILLed. One short
fit, stopped by a real SIGTERM, makes the stopped run, in a git repository with a changed file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from conftest import FittedRun, Refused, tree

from {{ cookiecutter.package_name }}.infra.cli import main
from {{ cookiecutter.package_name }}.infra.records import folders as runs, record as run_record

PACKAGE = "{{ cookiecutter.package_name }}"
RUNS = Path("runs") / PACKAGE
QUIET = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]
COLUMNS = [
    "RUN",
    "COMMAND",
    "STARTED",
    "STATE",
    "COMMIT",
    "DATA",
    "EPOCHS",
    "WALL",
    "BEST",
    "PRESETS",
    "ARGUMENTS",
]


def runs_table(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, str]]:
    """`runs` with `args`: each line as {column: cell}, cut where the header's names start."""
    main(["runs", *args])
    header, *lines = capsys.readouterr().out.splitlines()
    starts = [match.start() for match in re.finditer(r"\S+", header)]
    assert header.split() == COLUMNS
    rows = []
    for line in lines:
        assert all(line[start - 2 : start] == "  " for start in starts[1:]), line  # aligned
        ends = [*starts[1:], len(line)]
        rows.append({name: line[a:b].strip() for name, a, b in zip(COLUMNS, starts, ends)})
    return rows


def seconds(wall: str) -> int:
    """The seconds of a WALL cell, 1:02:03."""
    hours, minutes, whole = map(int, wall.split(":"))
    return (hours * 60 + minutes) * 60 + whole


def best_score(run: Path) -> float:
    """The best val/acc the checkpoint callback recorded, as last.ckpt keeps it."""
    import torch

    saved = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)["callbacks"]
    (state,) = [value for key, value in saved.items() if key.startswith("ModelCheckpoint{")]
    assert state["monitor"] == "val/acc"
    return float(state["best_model_score"])


def edit_json(path: Path, **fields: object) -> None:
    """Set `fields` in the JSON object in `path` (a field set to None is removed)."""
    record = json.loads(path.read_text())
    record.update(fields)
    path.write_text(json.dumps({key: value for key, value in record.items() if value is not None}))


def kill_holding(*folders: Path) -> None:
    """A process that holds the folders' locks, then is SIGKILLed: the locks it leaves hold nothing."""
    script = (
        "import os, signal, sys; from pathlib import Path; "
        f"from {PACKAGE}.infra.records import folders as runs; "
        "[runs.hold(Path(folder)) for folder in sys.argv[1:]]; "
        "os.kill(os.getpid(), signal.SIGKILL)"
    )
    result = subprocess.run([sys.executable, "-c", script, *map(str, folders)], timeout=60)
    assert result.returncode == -9


def test_a_finished_run_shows_what_its_records_say(
    fitted_run: FittedRun, in_tmp_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(fitted_run.directory, RUNS / "version_0")
    before = tree(in_tmp_dir / "runs")
    record = json.loads((RUNS / "version_0" / run_record.RECORD).read_text())
    started = datetime.fromisoformat(record["started"]).astimezone()

    (row,) = runs_table(capsys)

    wall = round(record["seconds"])
    assert row == {
        "RUN": f"runs/{PACKAGE}/version_0",
        "COMMAND": "fit",
        "STARTED": started.strftime("%Y-%m-%d %H:%M"),
        "STATE": "finished",
        "COMMIT": "none",  # the fixture's folder is no git repository
        "DATA": "none",  # BlobsData gives no fingerprint
        "EPOCHS": f"{fitted_run.epochs}/{fitted_run.epochs}",
        "WALL": f"0:{wall // 60:02d}:{wall % 60:02d}",
        "BEST": f"val/acc={best_score(RUNS / 'version_0'):.4g}",
        "PRESETS": "-",
        "ARGUMENTS": "trainer.enable_model_summary=false trainer.enable_progress_bar=false "
        f"trainer.max_epochs={fitted_run.epochs}",
    }
    assert record["best"] == best_score(RUNS / "version_0")  # the value itself, not a rounding
    assert record["epochs"] == fitted_run.epochs and record["max_epochs"] == fitted_run.epochs
    assert tree(in_tmp_dir / "runs") == before


def test_each_state_and_partial_records(
    fitted_run: FittedRun, in_tmp_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for version in (0, 1, 2, 3, 4):
        shutil.copytree(fitted_run.directory, RUNS / f"version_{version}")
    # A live run: its last record is from an epoch's start, and this process holds its lock.
    edit_json(RUNS / "version_1" / run_record.RECORD, state="running", epochs=2)
    git = {"commit": "0123456789abcdef0123456789abcdef01234567", "dirty": False}
    edit_json(RUNS / "version_1" / "provenance.json", git=git)
    # A killed run: the same record, and a lock that a process held when it was killed.
    edit_json(RUNS / "version_2" / run_record.RECORD, state="running", epochs=4)
    # A run made before run.json, presets and arguments were recorded.
    (RUNS / "version_3" / run_record.RECORD).unlink()
    edit_json(RUNS / "version_3" / "provenance.json", presets=None, arguments=None, data=None)
    # Records cut short (written by hand, or by another tool), beside a run killed at its start.
    for name in (run_record.RECORD, "provenance.json"):
        text = (RUNS / "version_4" / name).read_text()
        (RUNS / "version_4" / name).write_text(text[: len(text) // 2])
    (RUNS / "version_10").mkdir()
    kill_holding(RUNS / "version_2", RUNS / "version_10")
    runs.hold(RUNS / "version_1")
    try:
        before = tree(in_tmp_dir / "runs")
        rows = runs_table(capsys)
        assert tree(in_tmp_dir / "runs") == before
    finally:
        runs.release_all()

    by_version = {row["RUN"].rpartition("/")[2]: row for row in rows}
    assert list(by_version) == [f"version_{n}" for n in (0, 1, 2, 3, 4, 10)]  # 10 after 4
    states = {version: row["STATE"] for version, row in by_version.items()}
    assert states == {
        "version_0": "finished",
        "version_1": "running",
        "version_2": "failed",
        "version_3": "-",
        "version_4": "-",
        "version_10": "failed",
    }
    assert by_version["version_1"]["COMMIT"] == "0123456"
    assert by_version["version_1"]["EPOCHS"] == f"2/{fitted_run.epochs}"
    assert by_version["version_2"]["EPOCHS"] == f"4/{fitted_run.epochs}"
    # A live run's time runs to now; a killed one's stops at its last record.
    record = json.loads((RUNS / "version_2" / run_record.RECORD).read_text())
    now = datetime.now().astimezone()
    live = (now - datetime.fromisoformat(record["started"])).total_seconds()
    assert abs(seconds(by_version["version_1"]["WALL"]) - live) <= 2
    assert seconds(by_version["version_2"]["WALL"]) == round(record["seconds"])
    nothing_known = {"COMMAND", "STARTED", "DATA", "EPOCHS", "WALL", "BEST", "PRESETS", "ARGUMENTS"}
    assert {by_version["version_3"][name] for name in nothing_known} == {"-"}
    assert by_version["version_3"]["COMMIT"] == "none"
    assert {by_version["version_4"][name] for name in nothing_known | {"COMMIT"}} == {"-"}
    assert {by_version["version_10"][name] for name in nothing_known | {"COMMIT"}} == {"-"}

    # One run's folder lists that run alone.
    assert [row["RUN"] for row in runs_table(capsys, str(RUNS / "version_0"))] == [
        str(RUNS / "version_0")
    ]


def test_a_stopped_run_shows_its_commit_presets_and_arguments(
    in_tmp_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from crash import SigtermAtBatch
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from {{ cookiecutter.package_name }}.infra.training.lightning_cli import build

    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    (in_tmp_dir / "notes.md").write_text("first\n")
    subprocess.run([*git, "init", "--quiet"], check=True)
    subprocess.run([*git, "add", "notes.md"], check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", "start"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    (in_tmp_dir / "notes.md").write_text("changed after the commit\n")
    flags = ["--model.hidden=64", "--trainer.max_epochs=3", "--trainer.limit_train_batches=2"]
    flags += ["--trainer.limit_val_batches=1", *QUIET]
    stop = SigtermAtBatch(epoch=1, batch=0)  # after the first epoch and its checkpoint

    with pytest.raises(SIGTERMException):
        build(["fit", "--preset", "cpu", *flags], callbacks=[stop])
    before = tree(in_tmp_dir / "runs")
    (row,) = runs_table(capsys)

    record = json.loads((RUNS / "version_0" / run_record.RECORD).read_text())
    assert record["state"] == "stopped" and record["reason"] == "SIGTERMException"
    assert record["best"] == best_score(RUNS / "version_0")
    assert row["STATE"] == "stopped"
    assert row["COMMIT"] == f"{head[:7]}-dirty"
    assert row["EPOCHS"] == "1/3"  # the stopped epoch is not counted
    assert row["BEST"] == f"val/acc={record['best']:.4g}"
    assert row["PRESETS"] == "cpu"  # and what the preset sets is not an argument
    assert row["ARGUMENTS"] == (
        "model.hidden=64 trainer.enable_model_summary=false trainer.enable_progress_bar=false "
        "trainer.limit_train_batches=2 trainer.limit_val_batches=1 trainer.max_epochs=3"
    )
    assert tree(in_tmp_dir / "runs") == before


def test_control_characters_in_a_record_are_shown_as_escapes_never_sent(
    fitted_run: FittedRun, in_tmp_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = in_tmp_dir / RUNS / "version_0"
    shutil.copytree(fitted_run.directory, run)
    # A title-setting sequence and a screen clear, as a tampered or careless record could hold.
    edit_json(run / "provenance.json", presets=["\x1b]0;owned\x07", "\x1b[2J"])
    (line,) = runs_table(capsys, str(RUNS))
    assert line["PRESETS"] == "\\x1b]0;owned\\x07,\\x1b[2J"
    main(["runs", str(RUNS)])
    assert not any(char in capsys.readouterr().out for char in "\x1b\x07")


def test_a_missing_folder_is_refused_and_no_runs_is_said(
    refused: Refused, capsys: pytest.CaptureFixture[str]
) -> None:
    assert refused(["runs", "nowhere"]) == (
        "error: no folder nowhere: give a folder that holds runs (the default, runs, is where fit "
        "saves them), or leave it out\n"
    )
    main(["runs"])
    said = capsys.readouterr().out
    assert said == f"No runs in runs/ yet: `python -m {PACKAGE} fit` makes one.\n"
    assert not Path("runs").exists()


def test_runs_answers_without_torch_or_lightning(in_tmp_dir: Path) -> None:
    script = (
        f"import sys; from {PACKAGE}.infra.cli import main; main(['runs']); "
        "assert not {'torch', 'lightning'} & set(sys.modules), 'imported torch or Lightning'"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert os.listdir(in_tmp_dir) == []
