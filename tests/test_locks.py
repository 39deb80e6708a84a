"""The locks a project ships: recompiling them changes nothing, and its sessions refuse bad ones.

`sync` and `tests` stop, naming the file and the fix, on a lock out of step with its .in file,
a missing lock, or an interpreter that matches neither lock target; `sync` says when it stopped
part-way. The sync tests put a recording `pip-sync` and a pip-less virtualenv first on PATH, so
nothing real is installed whatever happens.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest
from baked_nox import calls, pip_find_links, recording_command, run_nox
from conftest import Bake
from options import CHOICES

RUNNING_PYTHON = "{}.{}".format(*sys.version_info[:2])


def pipless_python(folder: Path) -> Path:
    """bin/ of a virtualenv of the running Python without pip: nothing can be installed there."""
    venv.create(folder, with_pip=False)
    return folder / "bin"


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def test_recompiling_the_shipped_locks_without_upgrading_changes_nothing(bake: Bake) -> None:
    project = bake(python_version="3.11")
    find_links = pip_find_links()
    # Without a folder of wheels, the CPU build of torch comes from download.pytorch.org.
    variables = {"TORCH_CPU_FIND_LINKS": find_links} if find_links else {}
    result = run_nox(project, "--no-venv", "-s", "lock", variables=variables)
    assert result.returncode == 0, result.stdout[-3000:]
    diff = subprocess.run(
        ["git", "diff", "--stat", "--exit-code", "requirements/"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert diff.returncode == 0, diff.stdout
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True, check=True
    )
    assert status.stdout == ""  # and no file left behind (such as prod-cpu.txt.new)


def test_tests_session_stops_on_a_lock_out_of_step_before_running_tests(bake: Bake) -> None:
    project = bake()
    append(project / "requirements" / "prod.in", "rich\n")
    result = run_nox(project, "--no-venv", "-s", "tests")
    assert result.returncode == 1
    assert "locks out of step with their .in files:" in result.stdout
    assert (
        "requirements/prod.txt does not pin rich, which prod.in asks for: "
        "run `nox -s lock` to recompile it" in result.stdout
    )
    assert "pytest" not in result.stdout


def test_sync_stops_on_a_lock_out_of_step_before_installing(bake: Bake, tmp_path: Path) -> None:
    project = bake()
    pip_sync = recording_command(tmp_path / "tools", "pip-sync")
    (project / "requirements" / "dev.in").write_text(
        (project / "requirements" / "dev.in").read_text().replace("black\n", "")
    )
    result = run_nox(
        project, "-s", "sync", path_first=[pipless_python(tmp_path / "venv"), pip_sync.parent]
    )
    assert result.returncode == 1
    assert (
        "requirements/dev.txt pins black for dev.in, which no longer asks for it: "
        "run `nox -s lock` to recompile it" in result.stdout
    )
    assert calls(pip_sync) == []


def test_sync_names_a_missing_lock_of_a_chosen_option(bake: Bake, tmp_path: Path) -> None:
    project = bake(logger="tensorboard")
    (project / "requirements" / "tensorboard.txt").unlink()
    pip_sync = recording_command(tmp_path / "tools", "pip-sync")
    result = run_nox(
        project,
        "-s",
        "sync",
        "--",
        "gpu",
        path_first=[pipless_python(tmp_path / "venv"), pip_sync.parent],
    )
    assert result.returncode == 1
    assert (
        "missing lock requirements/tensorboard.txt (needed for the gpu target): "
        "run `nox -s lock` to compile it" in result.stdout
    )
    assert calls(pip_sync) == []


def test_sync_refuses_a_python_that_matches_neither_target(bake: Bake, tmp_path: Path) -> None:
    other_python = next(python for python in CHOICES["python_version"] if python != RUNNING_PYTHON)
    project = bake(python_version=other_python)
    pip_sync = recording_command(tmp_path / "tools", "pip-sync")
    python_bin = pipless_python(tmp_path / "venv")
    result = run_nox(project, "-s", "sync", "--", "gpu", path_first=[python_bin, pip_sync.parent])
    assert result.returncode == 1
    assert (
        f"{python_bin / 'python'} is Python {RUNNING_PYTHON}, but the locks in requirements/ "
        "(prod.txt for a GPU, prod-cpu.txt for a CPU) install on Linux x86_64 with glibc 2.28 or "
        f"newer and Python {other_python}: activate the project's conda environment"
        in result.stdout
    )
    assert calls(pip_sync) == []


@pytest.mark.parametrize(
    ("target", "locks"),
    [
        (
            "gpu",
            "requirements/prod.txt requirements/dev.txt requirements/sweep.txt "
            "requirements/tensorboard.txt",
        ),
        (
            "cpu",
            "requirements/prod-cpu.txt requirements/dev.txt requirements/sweep.txt "
            "requirements/tensorboard.txt "
            "--pip-args=--find-links=/wheels",
        ),
    ],
)
def test_sync_installs_the_targets_locks_and_says_when_it_stops_part_way(
    bake: Bake, tmp_path: Path, target: str, locks: str
) -> None:
    project = bake(python_version=RUNNING_PYTHON, logger="tensorboard")
    pip_sync = recording_command(tmp_path / "tools", "pip-sync")
    python_bin = pipless_python(tmp_path / "venv")
    result = run_nox(
        project,
        "-s",
        "sync",
        "--",
        target,
        path_first=[python_bin, pip_sync.parent],
        variables={"TORCH_CPU_FIND_LINKS": "/wheels"},
    )
    assert calls(pip_sync) == [f"--python-executable={python_bin / 'python'} {locks}"]
    # The project itself is installed next, with pip, which this virtualenv lacks.
    assert result.returncode == 1
    assert (
        f"the sync stopped part-way, so the environment of {python_bin / 'python'} may hold a mix "
        "of old and new packages: fix the error above, then run `nox -s sync` again"
        in result.stdout
    )
