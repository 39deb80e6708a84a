"""run.json: a run's own record of when it started, how far it got and how it ended.

The run writes it when it starts, again as each training epoch starts (the epochs done, the best
value of the monitored metric so far, the seconds so far) and once more when it ends: `finished`,
`stopped` (SIGTERM, Ctrl-C, a SLURM requeue) or `failed` (any other error), with the reason. Every
write replaces the file whole (a temporary file renamed over it), so a reader never sees half a
record. A run killed outright (SIGKILL, the OOM killer, a lost node) keeps its last record, which
still says `running`, and its `run.lock`, which no live process holds: `runs` tells it apart from a
live run by that lock (folders.py). A run that continues (`--resume`, a requeued SLURM job) adds
run-resume-N.json for each continuation and keeps the record of how it started.

Nothing here imports torch or Lightning: `runs` reads these files in a fraction of a second.
recorder.py holds the callback that writes them.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

RECORD = "run.json"
RUNNING, FINISHED, STOPPED, FAILED = "running", "finished", "stopped", "failed"


def continuations(folder: Path, record: str = "run") -> list[tuple[int, Path]]:
    """The continuations' `<record>-resume-N.json` in `folder` (of run.json, or of another record
    of the run such as provenance.json) with their numbers, in the order they were written."""
    numbered = re.compile(rf"{re.escape(record)}-resume-(\d+)\.json")
    return sorted(
        (int(match.group(1)), path)
        for path in folder.glob(f"{record}-resume-*.json")
        if (match := numbered.fullmatch(path.name))
    )


def next_continuation(folder: Path, record: str = "run") -> Path:
    """Where the next continuation of the run in `folder` writes its `<record>-resume-N.json`."""
    last = max((number for number, _ in continuations(folder, record)), default=0)
    return folder / f"{record}-resume-{last + 1}.json"


def write(path: Path, record: dict[str, Any]) -> None:
    """Replace `path` with `record` whole: written beside it, synced, then renamed over it."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("w") as file:
            json.dump(record, file, indent=2)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)  # the previous record stays as it was
        raise


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in `path`; None when it is missing, unreadable or not an object."""
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def read(folder: Path) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The records of the run in `folder`: its start (None when unreadable or missing, as in runs
    made before this record existed) and each continuation that can be read, in order."""
    resumed = [record for _, path in continuations(folder) if (record := read_json(path))]
    return read_json(folder / RECORD), resumed
