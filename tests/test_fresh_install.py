"""The slow path that CI runs: a fresh virtualenv, filled only from a baked project's CPU locks
(hash-checked), passes the project's own `nox -s lint tests`, and its `doctor` finds every package
at its pin.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from baked_nox import pip_find_links
from conftest import Bake

RUNNING_PYTHON = "{}.{}".format(*sys.version_info[:2])
CPU_LOCKS = ("prod-cpu.txt", "dev.txt", "sweep.txt", "tensorboard.txt")
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def run(command: list[str], project: Path, environment: dict[str, str]) -> str:
    """Run `command` in `project`; fail the test with its output if it fails."""
    result = subprocess.run(
        command,
        cwd=project,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout[-5000:]}"
    return result.stdout


@pytest.mark.slow
def test_a_fresh_virtualenv_from_the_cpu_locks_passes_the_projects_lint_and_tests(
    bake: Bake, tmp_path: Path
) -> None:
    project = bake(python_version=RUNNING_PYTHON, logger="tensorboard")
    environment_dir = tmp_path / "venv"
    venv.create(environment_dir, with_pip=True)  # ensurepip: offline
    python = str(environment_dir / "bin" / "python")
    # Only the new virtualenv: no PYTHONPATH, no variables of the environment running these tests.
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PYTEST_") and key not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    environment["PATH"] = f"{environment_dir / 'bin'}{os.pathsep}{environment['PATH']}"
    environment["VIRTUAL_ENV"] = str(environment_dir)
    # The CPU build of torch is on no PyPI mirror: from pip's folder of wheels, else its own index.
    torch_cpu_source = [] if pip_find_links() else [f"--extra-index-url={TORCH_CPU_INDEX}"]
    locks = [f"--requirement=requirements/{lock}" for lock in CPU_LOCKS]
    # --no-compile: bytecode is written on first import instead, which halves the install here.
    install = [python, "-m", "pip", "install", "--no-compile", "--require-hashes", "--no-deps"]
    run([*install, *torch_cpu_source, *locks], project, environment)
    run([python, "-m", "pip", "install", "--no-deps", "--editable", "."], project, environment)
    assert "No broken requirements found." in run(
        [python, "-m", "pip", "check"], project, environment
    )

    doctor = run([python, "-m", "digit_classifier", "doctor"], project, environment)
    assert f"Python         {RUNNING_PYTHON}." in doctor
    assert f"({python})" in doctor
    pinned = "packages pinned in prod-cpu.txt, dev.txt, sweep.txt, tensorboard.txt are installed at"
    assert pinned in doctor

    checks = run(["nox", "--no-venv", "--no-color", "-s", "lint", "tests"], project, environment)
    assert "nox > Session lint was successful" in checks
    assert "nox > Session tests was successful" in checks
    assert " passed" in checks and " failed" not in checks
