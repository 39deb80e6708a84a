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


def run_generated_checks(
    project: Path, *sessions: str, posargs: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    # A project for Python 3.12 cannot be installed into this 3.11 environment (the CPU torch wheel
    # here is for 3.11 only), so its package is imported from src/ instead of installed.
    # Without this run's pytest-xdist variables: the project's own suite starts its own workers.
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    environment["PYTHONPATH"] = str(project / "src")
    command = ["nox", "--no-venv", "--no-color", "-s", *sessions]
    if posargs:
        command += ["--", *posargs]
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


@pytest.mark.long
@pytest.mark.parametrize("session", ["lint", "tests"])  # apart: two workers run them side by side
@pytest.mark.parametrize(
    "combination", covering_combinations(covered=ci_workflow_combinations()), ids=label
)
def test_baked_project_passes_its_own_lint_and_tests(
    bake: Bake, combination: dict[str, str], session: str
) -> None:
    project = bake(**combination, **LONGEST_NAMES)
    result = run_generated_checks(project, session)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert f"nox > Session {session} was successful" in output
    if session == "lint":
        assert re.search(r"^mypy --strict\.+Passed$", output, re.MULTILINE), output[-5000:]
    else:
        assert " passed" in output and " failed" not in output


# A user's own project, written as the baked README's "Your code goes here" says and not shipped in
# the template: an ordinary shuffled DataLoader of dict batches, a model with dropout (so a resumed
# run must restore the random generators to match), val/loss as the metric.
YOUR_PROJECT = Path(__file__).with_name("your_project")
YOUR_CONFIG = """\
model:
  class_path: {package}.waves.AmplitudeModel
  init_args:
    hidden: 32
data:
  class_path: {package}.waves.WaveData
trainer:
  log_every_n_steps: 4
checkpoint:
  monitor: val/loss
  mode: min
"""


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.parametrize("examples", ["yes", "no"])
def test_your_own_model_in_place_of_the_examples_passes_lint_and_every_test(
    bake: Bake, examples: str
) -> None:
    project = bake(examples=examples)
    package = project / "src" / "digit_classifier"
    if examples == "yes":  # a bake with the examples drops them first, as its README says
        drop = ["nox", "--no-color", "-s", "drop_examples"]
        result = subprocess.run(drop, cwd=project, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    (package / "waves.py").write_text((YOUR_PROJECT / "waves.py").read_text())
    (package / "config.yaml").write_text(YOUR_CONFIG.format(package="digit_classifier"))
    sweep = project / "sweeps" / "wandb.yaml"
    space = "parameters:\n  model.hidden:\n    values: [16, 32]\n  model.lr:\n    values: [0.001]\n"
    sweep.write_text(sweep.read_text().replace("parameters: {}\n", space))
    # pre-commit checks the files git knows: the user's new file too.
    subprocess.run(["git", "add", "--all"], cwd=project, check=True)
    result = run_generated_checks(project, "lint", "tests", posargs=("--slow",))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert re.search(r"^mypy --strict\.+Passed$", output, re.MULTILINE), output[-5000:]
    # The infrastructure's tests still run (on their own small project), and the contract tests
    # ran on the user's classes instead of skipping.
    passed = re.search(r"(\d+) passed", output)
    assert passed is not None and int(passed.group(1)) >= 150, output[-3000:]
    skipped = [
        line
        for line in output.splitlines()
        if line.startswith("SKIPPED")
        and "test_your_project.py" in line
        and "does not run on this machine" not in line  # the GPU and launcher presets
    ]
    # Only the comparison with one process, which an ordinary loader's per-process batches rule out.
    assert len(skipped) == 1 and "batches are per process" in skipped[0], skipped
