"""Baked projects pass their own `nox -s lint tests`, using every answer of every option.

These run in the current environment (`nox --no-venv`), which the template's noxfile builds once
from the shipped locks. The answers that test_clean_machine.py's CI-workflow bakes use (one bake
per Python, spread over the other options' answers) are covered there, in fresh environments, so
not again here.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import Bake
from options import ci_workflow_combinations, covering_combinations, label


def run_generated_checks(project: Path, *sessions: str) -> subprocess.CompletedProcess[str]:
    # A project for Python 3.12 cannot be installed into this 3.11 environment (the CPU torch wheel
    # here is for 3.11 only), so its package is imported from src/ instead of installed.
    # Without this run's pytest-xdist variables: the project's own suite starts its own workers.
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    environment["PYTHONPATH"] = str(project / "src")
    command = ["nox", "--no-venv", "--no-color", "-s", *sessions]
    return subprocess.run(
        command,
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
    )


# The longest names the answer checks allow: names enter generated lines (imports, headings,
# console scripts), and at this length black, flake8 and the project's own tests still pass.
LONGEST_NAMES = {"project_slug": "a" * 40, "package_name": "p" * 30}


@pytest.mark.parametrize(
    "combination", covering_combinations(covered=ci_workflow_combinations()), ids=label
)
def test_baked_project_passes_its_own_lint_and_tests(
    bake: Bake, combination: dict[str, str]
) -> None:
    project = bake(**combination, **LONGEST_NAMES)
    result = run_generated_checks(project, "lint", "tests")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert "nox > Session lint was successful" in output
    assert re.search(r"^mypy --strict\.+Passed$", output, re.MULTILINE), output[-5000:]
    assert "nox > Session tests was successful" in output
    assert " passed" in output and " failed" not in output
