"""On a machine like a user's (see clean_machine.py): each Python's baked CI workflow, and an
unreachable CPU index.

No pip configuration, a fresh HOME, one Python alone on PATH, torch's CPU index answered by a mirror
on loopback. These are the slow tests CI runs; every Python of the template is tried where its
interpreter is present (on CI, REQUIRE_SERVICES=1 makes a missing one fail instead of skip). The
README's demo runs in a fresh Debian 13 (tests/fresh_debian.py, which .ci/run runs after this
suite), which checks its test accuracy and its report.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from pathlib import Path

import pytest
import yaml
from clean_machine import (
    find_python,
    run_clean,
)
from conftest import Bake
from options import CHOICES, ci_workflow_combinations

REQUIRED = os.environ.get("REQUIRE_SERVICES") == "1"


@pytest.fixture(scope="session")
def download_caches(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One uv cache and one pip cache for every clean HOME of the session, as the baked CI
    workflow keeps both between runs (shared by pytest-xdist's workers where they run: uv and pip
    lock their caches for concurrent use): each wheel is downloaded once."""
    shared = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        shared = shared.parent
    caches = {"UV_CACHE_DIR": shared / "uv-cache", "PIP_CACHE_DIR": shared / "pip-cache"}
    for cache in caches.values():
        cache.mkdir(exist_ok=True)
    return {name: str(cache) for name, cache in caches.items()}


def interpreter(version: str) -> Path:
    """The interpreter of `version`, or skip (fail on CI) where this machine has none."""
    python = find_python(version)
    if python is None:
        message = f"no Python {version} on this machine"
        if REQUIRED:
            pytest.fail(message)
        pytest.skip(message)
    return python


def test_the_template_offers_every_python_from_3_11_to_3_13() -> None:
    # The CI-workflow tests below try every answer; a new answer needs no new code here.
    assert set(CHOICES["python_version"]) >= {"3.11", "3.12", "3.13"}


def ci_steps(project: Path) -> list[str]:
    """The `run:` scripts of the baked CI workflow, in order."""
    workflow = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    (job,) = workflow["jobs"].values()
    return [step["run"] for step in job["steps"] if "run" in step]


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.parametrize(
    "combination", ci_workflow_combinations(), ids=lambda answers: answers["python_version"]
)
def test_a_bakes_ci_workflow_passes_on_a_clean_machine(
    bake: Bake,
    tmp_path: Path,
    index_url: str | None,
    download_caches: dict[str, str],
    combination: dict[str, str],
) -> None:
    version = combination["python_version"]
    python = interpreter(version)
    project = bake(**combination)
    # As GitHub's runner: each step in bash -eo pipefail; GITHUB_PATH and GITHUB_ENV carry over.
    github_path, github_env = tmp_path / "github_path", tmp_path / "github_env"
    github_path.touch()
    github_env.touch()
    # What actions/setup-python puts first on PATH: the interpreter as `python` and `python3` too
    # (Debian's own folder has no `python`).
    setup_python = tmp_path / "setup-python"
    setup_python.mkdir()
    for name in ("python", "python3", f"python{version}"):
        (setup_python / name).symlink_to(python)
    outputs = []
    try:
        for script in ci_steps(project):
            extra = {**download_caches, "CI": "true"}
            extra.update(line.partition("=")[::2] for line in github_env.read_text().splitlines())
            folders = [*reversed(github_path.read_text().split()), str(setup_python)]
            extra["GITHUB_PATH"], extra["GITHUB_ENV"] = str(github_path), str(github_env)
            command = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script]
            # The step's PATH: GITHUB_PATH's folders first, as the runner puts them.
            extra["PATH"] = os.pathsep.join([*folders, "/usr/sbin", "/usr/bin", "/sbin", "/bin"])
            result = run_clean(
                command, python, project, tmp_path / "home", index_url, extra, timeout=1500
            )
            outputs.append(result.stdout)
            assert result.returncode == 0, f"{script}\n{result.stdout[-5000:]}"
    finally:
        shutil.rmtree(project / ".venv", ignore_errors=True)  # gigabytes of torch
    output = "\n".join(outputs)
    assert re.search(r"sync will install [1-9]\d* packages in ", output), output[-3000:]
    assert re.search(r"Python +" + re.escape(version) + r"\.", output)
    logger_lock = [] if combination["logger"] == "csv" else [f"{combination['logger']}.txt"]
    locks = ", ".join(["prod-cpu.txt", "dev.txt", "sweep.txt", *logger_lock])
    assert f"packages pinned in {locks} are installed at their pins" in output
    assert "nox > Session lint was successful" in output
    assert "nox > Session tests was successful" in output
    assert " passed" in output and " failed" not in output


@pytest.mark.parametrize(
    "unreachable",
    ["http://127.0.0.1:9/whl/cpu", "http://torch-mirror.invalid/whl/cpu"],
    ids=["refused", "unresolvable"],
)
def test_an_unreachable_cpu_index_fails_in_seconds_naming_the_way_around(
    bake: Bake, tmp_path: Path, unreachable: str
) -> None:
    # The running Python's bake: its virtualenvs are made from the interpreter at hand.
    project = bake(python_version="{}.{}".format(*sys.version_info[:2]))
    python = Path(shutil.which("python") or "python")  # the venv of these tests, with nox and uv
    start = time.monotonic()
    result = run_clean(
        ["python", "-m", "nox", "-s", "lint"], python, project, tmp_path / "home", unreachable
    )
    elapsed = time.monotonic() - start
    assert result.returncode == 1
    assert (
        f"torch's CPU index {unreachable}/torch/ cannot be reached (" in result.stdout
        and "): point TORCH_CPU_FIND_LINKS at a folder holding the torch +cpu wheel, or "
        "TORCH_CPU_INDEX_URL at a mirror of the index" in result.stdout
    ), result.stdout[-3000:]
    assert elapsed < 30
