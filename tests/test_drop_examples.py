"""`nox -s drop_examples` in a baked project, and a bake answered `examples=no`: the examples go in
one step, both ways leave the same project, and nothing of the user's is ever lost."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import Bake
from test_bake import EXAMPLE_FILES, project_files

PACKAGE = "digit_classifier"


def drop_examples(project: Path) -> subprocess.CompletedProcess[str]:
    """The project's own session, as a user runs it in the project's folder."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    return subprocess.run(
        [sys.executable, "-m", "nox", "--no-color", "-s", "drop_examples"],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def contents(project: Path) -> dict[str, bytes]:
    """Every file's bytes, .git/, the record of the answers (.cruft.json) and the bytecode that
    running the project's noxfile leaves (git ignores it) aside."""
    return {
        name: (project / name).read_bytes()
        for name in sorted(project_files(project))
        if name != ".cruft.json" and "__pycache__" not in name
    }


def said(result: subprocess.CompletedProcess[str]) -> list[str]:
    """What the session said, without nox's own lines about running it."""
    lines = [line.removeprefix("nox > ") for line in result.stderr.splitlines()]
    # A refusal: nox's "Session ... aborted: MESSAGE (took N seconds)." around the session's words.
    lines = [
        re.sub(r" \(took [^)]*\)\.$", ".", line.removeprefix("Session drop_examples aborted: "))
        for line in lines
    ]
    return [line for line in lines if not line.startswith(("Running session", "Session drop"))]


def test_dropping_the_examples_leaves_exactly_the_project_baked_without_them(bake: Bake) -> None:
    project = bake()
    result = drop_examples(project)
    assert result.returncode == 0, result.stderr
    removed = {line.split()[-1] for line in said(result) if line.startswith("removed   src")}
    removed |= {line.split()[-1] for line in said(result) if line.startswith("removed   tests")}
    assert removed == EXAMPLE_FILES
    assert f"rewritten src/{PACKAGE}/config.yaml (names no model yet)" in said(result)
    assert "removed   the example cells of notebooks/explore_run.ipynb" in said(result)
    assert said(result)[-1].startswith("Next: write your LightningModule and LightningDataModule")

    assert contents(project) == contents(bake(examples="no", output="without"))


def test_the_examples_left_nothing_that_names_them(bake: Bake) -> None:
    project = bake(examples="no")
    for name in project_files(project) - {".cruft.json"}:
        text = (project / name).read_text(errors="replace")
        for module in ("data", "model", "module", "figures", "app", "diabetes", "regressor"):
            assert f"{PACKAGE}.{module}" not in text, f"{name} names {PACKAGE}.{module}"
    assert "tags" not in (project / "notebooks" / "explore_run.ipynb").read_text()
    assert not (project / "src" / PACKAGE / "presets").exists()


def test_a_second_drop_says_there_is_nothing_to_drop(bake: Bake) -> None:
    project = bake()
    assert drop_examples(project).returncode == 0
    before = contents(project)
    result = drop_examples(project)
    assert result.returncode == 0
    assert said(result) == ["The examples are already gone: nothing to drop."]
    assert contents(project) == before


def test_a_changed_example_is_refused_and_nothing_is_removed(bake: Bake) -> None:
    project = bake()
    module = project / "src" / PACKAGE / "module.py"
    module.write_text(module.read_text() + "# my change\n")
    before = contents(project)
    result = drop_examples(project)
    assert result.returncode == 1
    (line,) = said(result)
    assert line.startswith(
        f"changed since the bake: src/{PACKAGE}/module.py; drop_examples removes only "
        "the examples as they were made."
    )
    assert contents(project) == before


def test_a_file_of_yours_that_imports_an_example_is_refused_and_nothing_is_removed(
    bake: Bake,
) -> None:
    project = bake()
    (project / "src" / PACKAGE / "mine.py").write_text(f"from {PACKAGE} import model\n")
    before = contents(project)
    result = drop_examples(project)
    assert result.returncode == 1
    assert said(result) == [
        "files of yours import the examples' modules, which would go "
        f"(src/{PACKAGE}/mine.py): make them import your own instead, then run it again."
    ]
    assert contents(project) == before


def test_a_config_that_already_names_your_model_is_kept(bake: Bake) -> None:
    project = bake()
    config = project / "src" / PACKAGE / "config.yaml"
    yours = f"model:\n  class_path: {PACKAGE}.mine.Mine\n"
    config.write_text(yours)
    result = drop_examples(project)
    assert result.returncode == 0, result.stderr
    assert config.read_text() == yours
    assert not (project / "src" / PACKAGE / "module.py").exists()
