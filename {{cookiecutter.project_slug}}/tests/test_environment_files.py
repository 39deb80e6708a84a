"""`nox -s env` checks a conda environment file before conda reads it: it parses, and it asks for
the Python of the locks and (environment.yml) the CUDA version of torch's wheels; each problem is
one line with its fix."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.infra.machine import locks
from {{ cookiecutter.package_name }}.infra.machine.environment_files import (
    ENVIRONMENT_FILES,
    environment_problems,
)

PROJECT = Path(__file__).resolve().parents[1]
PYTHON = tomllib.loads((PROJECT / "pyproject.toml").read_text())["tool"]["mypy"]["python_version"]
RUNTIME = "nvidia-cuda-runtime==13.0.96 \\\n    --hash=sha256:0\n"


@pytest.fixture
def requirements(tmp_path: Path) -> Path:
    """A prod.txt whose CUDA runtime is 13.0."""
    folder = tmp_path / "requirements"
    folder.mkdir()
    (folder / "prod.txt").write_text(RUNTIME)
    return folder


def environment_file(folder: Path, *dependencies: str, name: str = "environment.yml") -> Path:
    path = folder / name
    path.write_text("dependencies:\n" + "".join(f"  - {spec}\n" for spec in dependencies))
    return path


@pytest.mark.parametrize("target", ["gpu", "cpu"])
def test_the_projects_environment_files_ask_for_what_the_locks_hold(target: str) -> None:
    path = PROJECT / ENVIRONMENT_FILES[target]
    assert environment_problems(path, PYTHON, PROJECT / "requirements") == []


@pytest.mark.parametrize("spec", ["python=3.11", "python 3.11", "python=3.11.*", "python=3.11.9"])
def test_a_python_spec_of_the_locks_version_passes(requirements: Path, spec: str) -> None:
    path = environment_file(requirements.parent, spec, "cuda-version=13.0")
    assert environment_problems(path, "3.11", requirements) == []


def test_another_python_is_named_with_its_fix(requirements: Path) -> None:
    path = environment_file(requirements.parent, "python=3.1", "cuda-version=13.0")
    assert environment_problems(path, "3.11", requirements) == [
        f"{path} asks for `python=3.1`, but noxfile.py's PYTHON needs python 3.11: "
        "write `python=3.11`"
    ]


def test_a_missing_python_and_another_cuda_are_both_named(requirements: Path) -> None:
    path = environment_file(requirements.parent, "pip", "cuda-version=12.8")
    assert environment_problems(path, "3.11", requirements) == [
        f"{path} does not name python, but noxfile.py's PYTHON needs python 3.11: "
        "write `python=3.11`",
        f"{path} asks for `cuda-version=12.8`, but {requirements / 'prod.txt'}'s "
        "nvidia-cuda-runtime==13.0.96 needs cuda-version 13.0: write `cuda-version=13.0`",
    ]


def test_only_the_gpu_file_is_held_to_torchs_cuda(requirements: Path) -> None:
    path = environment_file(requirements.parent, "python=3.11", name="environment-cpu.yml")
    assert environment_problems(path, "3.11", requirements) == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (None, "is missing: "),
        ("dependencies: [python=3.11\n", "is not valid YAML (line 2: "),
        ("name: x\n", "has no `dependencies:` list: fix it, or "),
    ],
    ids=["missing", "not-yaml", "no-dependencies"],
)
def test_a_broken_file_is_named_with_the_way_to_restore_it(
    requirements: Path, text: str | None, problem: str
) -> None:
    path = requirements.parent / "environment.yml"
    if text is not None:
        path.write_text(text)
    [found] = environment_problems(path, "3.11", requirements)
    assert found.startswith(f"{path} {problem}")
    assert found.endswith(f"restore it with `git checkout -- {path}`")


def test_a_copy_of_the_gpu_file_with_another_runtime_is_refused(tmp_path: Path) -> None:
    requirements = Path(shutil.copytree(PROJECT / "requirements", tmp_path / "requirements"))
    prod = requirements / "prod.txt"
    runtime = f"nvidia-cuda-runtime=={locks.read_lock(prod)['nvidia-cuda-runtime'].version}"
    prod.write_text(prod.read_text().replace(runtime, "nvidia-cuda-runtime==99.1.0"))
    path = Path(shutil.copy(PROJECT / "environment.yml", tmp_path / "environment.yml"))
    [problem] = environment_problems(path, PYTHON, requirements)
    assert "needs cuda-version 99.1: write `cuda-version=99.1`" in problem
