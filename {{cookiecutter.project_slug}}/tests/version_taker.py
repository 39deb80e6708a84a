"""The target of the processes that race for run versions (test_faults_runs.py).

Its own module, importing only infra.records.folders: a spawned process imports the module of its
target, and the test module's imports (torch, Lightning) would cost each process seconds before it
races.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from {{ cookiecutter.package_name }}.infra.records import folders as runs


def take_versions(root: Path, count: int, queue: multiprocessing.Queue[int]) -> None:
    """Take `count` new versions under `root`, putting each number on `queue`."""
    for _ in range(count):
        queue.put(runs.new_version(root)[0])
