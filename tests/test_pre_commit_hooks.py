"""pre-commit in a baked project: green as generated; each planted mistake caught by its own hook.

The hooks are `repo: local` hooks that run the tools of the current environment (the project's
locks), so all of this runs offline. pre-commit only sees files git knows: planted files are staged.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jsonc
import pytest
import yaml
from conftest import TEMPLATE
from cookiecutter.main import cookiecutter  # type: ignore[import-untyped]  # no type hints

PACKAGE = "digit_classifier"
# One line per hook: its name padded with dots, then the result.
HOOK_RESULT = re.compile(
    r"^(?P<name>\S.*?)\.+(?:\(no files to check\))?(?P<status>Passed|Failed|Skipped)$", re.MULTILINE
)


@dataclass
class HookRun:
    """What `pre-commit run --verbose` said: each hook's status and the text it printed."""

    status: dict[str, str]
    report: dict[str, str]
    output: str

    @classmethod
    def parse(cls, output: str) -> HookRun:
        status, report = {}, {}
        results = list(HOOK_RESULT.finditer(output))
        for result, following in zip(results, [*results[1:], None]):
            section = output[result.end() : following.start() if following else len(output)]
            match = re.search(r"^- hook id: (\S+)$", section, re.MULTILINE)
            assert match, f"no hook id after {result.group(0)!r}"
            status[match.group(1)] = result.group("status")
            report[match.group(1)] = section
        return cls(status, report, output)

    @property
    def failed(self) -> set[str]:
        return {hook for hook, status in self.status.items() if status == "Failed"}


def with_tools_of_this_python(environment: dict[str, str]) -> dict[str, str]:
    """`environment` with this interpreter's scripts (pre-commit, black, ...) first on PATH."""
    scripts = str(Path(sys.executable).parent)
    return {**environment, "PATH": os.pathsep.join([scripts, environment.get("PATH", "")])}


def run_hooks(project: Path) -> HookRun:
    """Stage everything, then run every hook on every file, as `nox -s lint` does."""
    subprocess.run(["git", "add", "--all"], cwd=project, check=True)
    result = subprocess.run(
        ["pre-commit", "run", "--all-files", "--verbose", "--color=never"],
        cwd=project,
        env=with_tools_of_this_python(dict(os.environ)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    run = HookRun.parse(result.stdout + result.stderr)
    assert (result.returncode != 0) == bool(run.failed), run.output
    return run


def hook_ids(project: Path) -> set[str]:
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    return {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}


def changed_files(project: Path) -> list[str]:
    """Files the hooks rewrote: they differ from what was staged."""
    diff = ["git", "diff", "--name-only"]
    return subprocess.run(diff, cwd=project, capture_output=True, text=True).stdout.split()


@pytest.fixture(scope="module")
def baked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One project for this module's tests: mypy's cache stays warm between them."""
    output = tmp_path_factory.mktemp("hooks")
    return Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(output)))


@pytest.fixture
def project(baked: Path) -> Iterator[Path]:
    """The baked project, put back to its first commit afterwards (ignored caches are kept)."""
    yield baked
    subprocess.run(["git", "reset", "--quiet", "--hard"], cwd=baked, check=True)
    subprocess.run(["git", "clean", "--quiet", "--force", "-d"], cwd=baked, check=True)


@pytest.mark.long
def test_lint_task_is_green_on_a_fresh_bake_without_an_activated_environment(
    project: Path,
) -> None:
    # As VS Code runs the task: the selected interpreter, its environment not on PATH.
    (task,) = (
        t
        for t in jsonc.loads((project / ".vscode" / "tasks.json").read_text())["tasks"]
        if t["label"] == "nox: lint"
    )
    scripts = str(Path(sys.executable).parent)
    path = [entry for entry in os.environ["PATH"].split(os.pathsep) if entry != scripts]
    result = subprocess.run(
        [sys.executable, *task["args"], "--no-color"],
        cwd=project,
        env={**os.environ, "PATH": os.pathsep.join(path)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert "nox > Session lint was successful" in output
    results = {match.group("name"): match.group("status") for match in HOOK_RESULT.finditer(output)}
    assert len(results) == len(
        hook_ids(project)
    ), output  # every hook ran: nox -s lint is pre-commit
    assert "Failed" not in results.values()
    for name in ("black", "flake8", "mypy --strict", "detect private key", "check yaml"):
        assert results[name] == "Passed", output


def test_black_reformats_a_badly_formatted_file(project: Path) -> None:
    planted = project / "src" / PACKAGE / "planted.py"
    planted.write_text("GREETING = 'hello'\n")  # flake8 and mypy accept it; black wants "hello"
    run = run_hooks(project)
    assert run.failed == {"black"}, run.output
    assert "reformatted src/digit_classifier/planted.py" in run.report["black"]
    assert planted.read_text() == 'GREETING = "hello"\n'


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("import os\n", "F401"),  # pyflakes: imported but unused
        ("def add(item: int, items: list[int] = []) -> list[int]:\n    return items\n", "B006"),
        ("PAIRS = dict([(1, 2)])\n", "C406"),  # flake8-comprehensions: use a dict literal
    ],
    ids=["pyflakes", "bugbear", "comprehensions"],
)
def test_flake8_and_its_plugins_report_a_planted_error(
    project: Path, source: str, code: str
) -> None:
    (project / "src" / PACKAGE / "planted.py").write_text(source)
    run = run_hooks(project)
    assert run.failed == {"flake8"}, run.output
    assert re.search(
        rf"^src/digit_classifier/planted\.py:\d+:\d+: {code} ", run.report["flake8"], re.M
    )


def test_mypy_reports_a_type_error(project: Path) -> None:
    (project / "src" / PACKAGE / "planted.py").write_text('COUNT: int = "three"\n')
    run = run_hooks(project)
    assert run.failed == {"mypy"}, run.output
    error = (
        "src/digit_classifier/planted.py:1: error: Incompatible types in assignment "
        '(expression has type "str", variable has type "int")'
    )
    assert error in run.report["mypy"]


def notebook_with_outputs() -> str:
    cell = {
        "cell_type": "code",
        "execution_count": 3,
        "id": "a1b2c3d4",
        "metadata": {},
        "outputs": [{"name": "stdout", "output_type": "stream", "text": ["4\n"]}],
        "source": ["print(2 + 2)"],
    }
    notebook = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(notebook, indent=1) + "\n"


def test_nbstripout_strips_outputs_from_a_notebook(project: Path) -> None:
    planted = project / "notebooks" / "explore.ipynb"
    planted.write_text(notebook_with_outputs())
    run = run_hooks(project)
    assert run.failed == {"nbstripout"}, run.output
    assert "- files were modified by this hook" in run.report["nbstripout"]
    assert changed_files(project) == ["notebooks/explore.ipynb"]
    (cell,) = json.loads(planted.read_text())["cells"]
    assert cell["outputs"] == [] and cell["execution_count"] is None
    assert cell["source"] == ["print(2 + 2)"]


def test_detect_private_key_refuses_a_private_key(project: Path) -> None:
    planted = project / "deploy" / "id_ed25519"
    planted.parent.mkdir()
    # Split so that this test file itself does not look like a key to a scanner.
    marker = "OPENSSH PRIVATE KEY-----"
    planted.write_text(f"-----BEGIN {marker}\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END {marker}\n")
    run = run_hooks(project)
    assert run.failed == {"detect-private-key"}, run.output
    assert "Private key found: deploy/id_ed25519" in run.report["detect-private-key"]
