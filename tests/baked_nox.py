"""Run a baked project's own nox sessions as its user would, with recording stand-ins for tools."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path


def run_nox(
    project: Path,
    *args: str,
    path_first: Sequence[Path] = (),
    variables: Mapping[str, str] | None = None,
    timeout: int = 600,
) -> subprocess.CompletedProcess[str]:
    """`nox ARGS` in `project` with `variables` set; stdout and stderr together in `.stdout`."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    environment.pop("TORCH_CPU_FIND_LINKS", None)  # set only where a test says so
    environment.update(variables or {})
    environment["PATH"] = os.pathsep.join([*map(str, path_first), environment["PATH"]])
    return subprocess.run(
        ["nox", "--no-color", *args],
        cwd=project,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )


def recording_command(folder: Path, name: str) -> Path:
    """An executable `folder/name` that appends its arguments to `folder/name.calls`; exits 0."""
    folder.mkdir(parents=True, exist_ok=True)
    command = folder / name
    record = command.with_name(f"{name}.calls")
    command.write_text(f'#!/bin/sh\necho "$@" >> "{record}"\n')
    command.chmod(0o755)
    return command


def calls(command: Path) -> list[str]:
    """The argument lines a recording command received, one per call."""
    record = command.with_name(f"{command.name}.calls")
    return record.read_text().splitlines() if record.exists() else []
