"""`runs`: one line per run, so runs are compared by what made them and how they went.

RUN       the run's folder
COMMAND   fit, validate, test or predict
STARTED   when it started (local time)
STATE     finished, stopped (SIGTERM, Ctrl-C, a SLURM requeue), running, or failed (an error, or
          killed: its lock file is left and no live process holds it)
COMMIT    the git commit it ran, `-dirty` when the tree had uncommitted changes
DATA      the data's fingerprint, short (fingerprints.py): runs on other data show another one
EPOCHS    epochs done / the most it would train
WALL      wall-clock time, its continuations (--resume) included
BEST      the best value of the metric that picks the best checkpoint (checkpoint.monitor)
PRESETS   the presets it was given
ARGUMENTS the settings that differ from what those presets and the defaults give

Read from each run's own records: run.json (record.py), provenance.json (provenance.py) and
run.lock (folders.py). It writes nothing, anywhere, and imports neither torch nor Lightning. A run
made before run.json existed shows what its provenance says, and `-` where nothing says.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from {{ cookiecutter.package_name }}.infra.command_line import defaults
from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal
from {{ cookiecutter.package_name }}.infra.command_line.parser import CommandParser, PROG
from {{ cookiecutter.package_name }}.infra.records import (
    fingerprints,
    folders as runs,
    record as run_record,
)

PROVENANCE = "provenance.json"  # provenance.py writes it
# A folder holding one of these is a run's: it is listed, and not searched further.
RUN_FILES = {run_record.RECORD, PROVENANCE, runs.LOCK}
COLUMNS = (
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
)
UNKNOWN = "-"


def run_folders(root: Path) -> list[Path]:
    """Every run folder under `root` (`root` itself if it is one), in natural order (2 before 10)."""
    found = []
    for directory, subdirectories, files in os.walk(root):
        if RUN_FILES & set(files):
            found.append(Path(directory))
            subdirectories.clear()  # its checkpoints/ and logs hold no other run
    return sorted(found, key=natural_order)


def natural_order(path: Path) -> list[Any]:
    """A sort key that orders the numbers in paths by value: version_2 before version_10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(path))]


def number(value: Any) -> float | None:
    """`value` if it is a number (JSON's true and false are not), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def moment(value: Any) -> datetime | None:
    """The time an ISO 8601 text names, in local time; None for anything else."""
    try:
        return datetime.fromisoformat(value).astimezone() if isinstance(value, str) else None
    except (ValueError, OverflowError, OSError):  # not a time, or one out of the clock's range
        return None


def state(folder: Path, last: dict[str, Any] | None) -> str:
    """What became of the run: a live lock says running, else its last record says how it ended."""
    if runs.is_held(folder):
        return run_record.RUNNING
    recorded = last.get("state") if last else None
    if recorded in (run_record.FINISHED, run_record.STOPPED, run_record.FAILED):
        return str(recorded)
    if recorded == run_record.RUNNING or (folder / runs.LOCK).exists():
        return run_record.FAILED  # it ended without a last word: killed, or its machine went down
    return UNKNOWN


def wall_seconds(records: list[dict[str, Any]], live: bool) -> float | None:
    """The run's wall-clock seconds over all its records; a live one's last record counts to now."""
    total = 0.0
    for index, record in enumerate(records):
        started = moment(record.get("started"))
        if live and index == len(records) - 1 and started is not None:
            seconds: float | None = (datetime.now().astimezone() - started).total_seconds()
        else:
            seconds = number(record.get("seconds"))
        if seconds is None:
            return None
        total += seconds
    return total if records else None


def duration(seconds: float | None) -> str:
    """1:02:03 for an hour, two minutes and three seconds."""
    if seconds is None or not math.isfinite(seconds):
        return UNKNOWN
    minutes, whole = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{whole:02d}"


def commit(provenance: dict[str, Any] | None) -> str:
    """The commit's short hash, with `-dirty` as `git describe --dirty` marks one."""
    if provenance is None:
        return UNKNOWN
    git = provenance.get("git")
    if not isinstance(git, dict) or not isinstance(git.get("commit"), str):
        return "none"  # not run in a git repository with a commit
    return str(git["commit"])[:7] + ("-dirty" if git.get("dirty") else "")


def data(provenance: dict[str, Any] | None) -> str:
    """The data's fingerprint, short: `none` when its data module gives none."""
    section = provenance.get("data") if provenance else None
    if not isinstance(section, dict):
        return UNKNOWN  # a run recorded before provenance had the data
    return fingerprints.short(section.get("fingerprint")) if section.get("fingerprint") else "none"


def epochs(last: dict[str, Any] | None) -> str:
    """Epochs done out of the most the run would train: 3/10."""
    done = number(last.get("epochs")) if last else None
    if last is None or done is None:
        return UNKNOWN
    most = number(last.get("max_epochs"))
    return f"{done:.0f}/{most:.0f}" if most is not None and most > 0 else f"{done:.0f}"


def best(last: dict[str, Any] | None) -> str:
    """val/acc=0.9712: the monitored metric and its best value so far."""
    value = number(last.get("best")) if last else None
    if last is None or value is None or not isinstance(last.get("monitor"), str):
        return UNKNOWN
    return f"{last['monitor']}={value:.4g}"


def setting(value: Any) -> str:
    """A setting's value as a flag takes it: text as it is, anything else as JSON."""
    if isinstance(value, str) and value and not any(character.isspace() for character in value):
        return value
    return json.dumps(value, separators=(",", ":"))  # one word, unless text holds a space


def arguments(provenance: dict[str, Any] | None) -> str:
    """`model.hidden=64 trainer.max_epochs=20`: the names as flags take them (init_args left out)."""
    changed = provenance.get("arguments") if provenance else None
    if not isinstance(changed, dict) or not changed:
        return UNKNOWN
    return " ".join(f"{flag_name(key)}={setting(changed[key])}" for key in sorted(changed))


def flag_name(key: str) -> str:
    """model.init_args.hidden as a flag takes it too, and shorter: model.hidden."""
    return ".".join(part for part in key.split(".") if part != "init_args")


def presets(provenance: dict[str, Any] | None) -> str:
    """The presets, in the order given: gpu,bf16."""
    names = provenance.get("presets") if provenance else None
    if not isinstance(names, list) or not names:
        return UNKNOWN
    return ",".join(map(str, names))


def row(folder: Path) -> list[str]:
    """The table's line for the run in `folder`."""
    start, continuations = run_record.read(folder)
    records = [record for record in (start, *continuations) if record is not None]
    last = records[-1] if records else None
    provenance = run_record.read_json(folder / PROVENANCE)
    started = moment(start.get("started")) if start else None
    current = state(folder, last)
    return [
        str(folder),
        str(last.get("command", UNKNOWN)) if last else UNKNOWN,
        started.strftime("%Y-%m-%d %H:%M") if started else UNKNOWN,
        current,
        commit(provenance),
        data(provenance),
        epochs(last),
        # Without the start's record, the time before the continuations is unknown.
        duration(wall_seconds(records, live=current == run_record.RUNNING) if start else None),
        best(last),
        presets(provenance),
        arguments(provenance),
    ]


def printable(cell: str) -> str:
    """`cell` with control characters written as escapes (\\x1b): a record is data, and an escape
    sequence in one must not reach the terminal, where it could rewrite what the table shows."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in cell)


def table(rows: list[list[str]]) -> Iterator[str]:
    """The rows under the column names, each column as wide as its widest cell (the last as is)."""
    lines = [list(COLUMNS), *([printable(cell) for cell in row] for row in rows)]
    widths = [max(len(line[column]) for line in lines) for column in range(len(COLUMNS) - 1)]
    for line in lines:
        cells = [cell.ljust(width) for cell, width in zip(line, widths)]
        yield "  ".join([*cells, line[-1]]).rstrip()


def runs_root() -> Path:
    """Where the run-directory logger (the first in defaults.yaml and config.yaml) saves runs."""
    arguments = defaults.first_logger().get("init_args") or {}
    return Path(str(arguments.get("save_dir", "runs")))


def parser() -> CommandParser:
    parser = CommandParser(
        prog=f"{PROG} runs",
        description="List every run under FOLDER, one line each: when it started, how it ended, "
        "its commit, epochs, wall time, best metric, presets and the arguments that differ from "
        "the defaults. Reads the runs' records and writes nothing.",
    )
    parser.add_argument(
        "folder",
        nargs="?",
        type=Path,
        help="a folder of runs, or one run's folder (default: the loggers' save_dir, runs/)",
    )
    return parser


def main(args: list[str]) -> None:
    root = parser().parse_args(args).folder
    if root is not None and not root.is_dir():
        raise Refusal(
            f"no folder {root}: give a folder that holds runs (the default, {runs_root()}, is "
            "where fit saves them), or leave it out"
        )
    folders = run_folders(root or runs_root())
    if not folders:
        print(f"No runs in {root or runs_root()}/ yet: `{PROG} fit` makes one.")
        return
    for line in table([row(folder) for folder in folders]):
        print(line)
