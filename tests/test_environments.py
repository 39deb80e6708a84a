"""Static checks of the conda environment files, which conda cannot solve on the test machines.

The files parse; every conda spec is a strict MatchSpec; the Python version agrees across the
environment files, pyproject.toml, the noxfile and CI; the CUDA version of environment.yml is the
CUDA runtime of the torch wheels in requirements/prod.txt. A disagreement names both places.
"""

from __future__ import annotations

import ast
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import rattler
from rattler.exceptions import InvalidMatchSpecError
import yaml
from baked_nox import calls, recording_command, run_nox
from conftest import Bake
from options import CHOICES
from packaging.requirements import Requirement

ENVIRONMENT_FILES = ("environment.yml", "environment-cpu.yml")
# Packages that would put a second CUDA runtime (or a conda build of torch) beside torch's wheels.
SECOND_CUDA_STACK = {
    "cudatoolkit",
    "cuda",
    "cuda-toolkit",
    "cuda-runtime",
    "cuda-libraries",
    "cuda-cudart",
    "cuda-nvcc",
    "cuda-nvcc-impl",
    "pytorch",
    "pytorch-cuda",
}


class EnvironmentFileError(AssertionError):
    """An environment file that cannot be read; the message names the file."""


@dataclass(frozen=True)
class Fact:
    """A version as one file states it."""

    place: str
    version: str


def conda_specs(path: Path) -> dict[str, rattler.MatchSpec]:
    """The conda specs of an environment file by package name; each must be a strict MatchSpec."""
    try:
        content = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise EnvironmentFileError(f"{path.name} is not valid YAML: {error}") from None
    if not isinstance(content, dict) or not isinstance(content.get("dependencies"), list):
        raise EnvironmentFileError(f"{path.name} has no `dependencies:` list")
    specs = {}
    for entry in content["dependencies"]:
        if isinstance(entry, str):
            spec = rattler.MatchSpec(entry, strict=True)
            assert spec.name is not None, f"{path.name}: {entry!r} names no package"
            specs[spec.name.normalized] = spec
    return specs


def pip_entries(path: Path) -> list[str]:
    content: dict[str, Any] = yaml.safe_load(path.read_text())
    sections = [entry["pip"] for entry in content["dependencies"] if isinstance(entry, dict)]
    return [line for section in sections for line in section]


def conda_version(path: Path, package: str) -> Fact:
    spec = conda_specs(path)[package]
    return Fact(f"{path.name} ({spec})", str(spec.version).removesuffix(".*"))


def noxfile_constant(path: Path, name: str) -> str:
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            assert isinstance(node.value, ast.Constant)
            return str(node.value.value)
    raise AssertionError(f"{path.name} does not set {name}")


def ci_python(path: Path) -> str:
    workflow = yaml.safe_load(path.read_text())
    versions = [
        str(step["with"]["python-version"])
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if str(step.get("uses", "")).startswith("actions/setup-python")
    ]
    assert len(versions) == 1, f"{path.name}: expected one setup-python step, found {versions}"
    return versions[0]


def python_facts(project: Path) -> list[Fact]:
    """The Python version of the project as each file states it."""
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    black_targets = pyproject["tool"]["black"]["target-version"]
    return [
        *(conda_version(project / name, "python") for name in ENVIRONMENT_FILES),
        Fact(
            "pyproject.toml [project] requires-python",
            pyproject["project"]["requires-python"].removeprefix(">="),
        ),
        Fact(
            "pyproject.toml [tool.mypy] python_version", pyproject["tool"]["mypy"]["python_version"]
        ),
        *(
            Fact("pyproject.toml [tool.black] target-version", f"{target[2]}.{target[3:]}")
            for target in black_targets
        ),
        Fact("noxfile.py PYTHON", noxfile_constant(project / "noxfile.py", "PYTHON")),
        Fact(
            ".github/workflows/ci.yml python-version",
            ci_python(project / ".github/workflows/ci.yml"),
        ),
    ]


def cuda_facts(project: Path) -> list[Fact]:
    """The CUDA version of the conda environment and of torch's CUDA runtime wheel in the lock."""
    lock = (project / "requirements" / "prod.txt").read_text()
    runtime = re.search(r"^nvidia-cuda-runtime==(\S+)", lock, re.MULTILINE)
    assert runtime, "requirements/prod.txt pins no nvidia-cuda-runtime"
    return [
        conda_version(project / "environment.yml", "cuda-version"),
        Fact(
            f"requirements/prod.txt (nvidia-cuda-runtime=={runtime[1]})",
            ".".join(runtime[1].split(".")[:2]),
        ),
    ]


def disagreements(what: str, facts: list[Fact]) -> list[str]:
    """One message per fact that differs from the first, naming both places."""
    reference = facts[0]
    return [
        f"{what} {fact.version} in {fact.place} disagrees with {what} {reference.version} in "
        f"{reference.place}"
        for fact in facts[1:]
        if fact.version != reference.version
    ]


def version_problems(project: Path) -> list[str]:
    return disagreements("Python", python_facts(project)) + disagreements(
        "CUDA", cuda_facts(project)
    )


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("python", CHOICES["python_version"])
def test_environment_files_parse_and_name_the_project(bake: Bake, python: str) -> None:
    project = bake(python_version=python)
    for name in ENVIRONMENT_FILES:
        content = yaml.safe_load((project / name).read_text())
        assert content["name"].startswith(project.name), name
        assert content["channels"] == ["conda-forge", "nodefaults"], name
        assert {"python", "pip"} <= conda_specs(project / name).keys(), name


@pytest.mark.parametrize("python", CHOICES["python_version"])
def test_every_conda_spec_is_a_strict_matchspec_and_every_pip_entry_a_requirement(
    bake: Bake, python: str
) -> None:
    project = bake(python_version=python)
    for name in ENVIRONMENT_FILES:
        conda_specs(project / name)  # raises on a spec strict parsing rejects
        for line in pip_entries(project / name):
            Requirement(line)


def test_strict_matchspec_parsing_rejects_an_ambiguous_spec() -> None:
    with pytest.raises(InvalidMatchSpecError):
        rattler.MatchSpec("pytorch=2.5.*", strict=True)


@pytest.mark.parametrize("python", CHOICES["python_version"])
def test_python_and_cuda_versions_agree_across_files(bake: Bake, python: str) -> None:
    project = bake(python_version=python)
    assert version_problems(project) == []
    assert {fact.version for fact in python_facts(project)} == {python}


def test_the_gpu_environment_adds_nvcc_but_no_second_cuda_runtime(bake: Bake) -> None:
    specs = conda_specs(bake() / "environment.yml")
    assert "cuda-nvcc-tools" in specs
    assert not specs.keys() & SECOND_CUDA_STACK


def test_the_cpu_environment_holds_no_cuda_package(bake: Bake) -> None:
    specs = conda_specs(bake() / "environment-cpu.yml")
    assert not [name for name in specs if name.startswith("cuda")]


@pytest.mark.parametrize(
    ("path", "old", "new", "places"),
    [
        (
            "environment-cpu.yml",
            "python=3.11",
            "python=3.12",
            ["environment-cpu.yml (python 3.12.*)", "environment.yml (python 3.11.*)"],
        ),
        (
            "pyproject.toml",
            'python_version = "3.11"',
            'python_version = "3.10"',
            ["pyproject.toml [tool.mypy] python_version", "environment.yml (python 3.11.*)"],
        ),
        (
            "noxfile.py",
            'PYTHON = "3.11"',
            'PYTHON = "3.12"',
            ["noxfile.py PYTHON", "environment.yml (python 3.11.*)"],
        ),
        (
            ".github/workflows/ci.yml",
            'python-version: "3.11"',
            'python-version: "3.13"',
            [".github/workflows/ci.yml python-version", "environment.yml (python 3.11.*)"],
        ),
        (
            "environment.yml",
            "cuda-version=13.0",
            "cuda-version=12.8",
            [
                "requirements/prod.txt (nvidia-cuda-runtime==13.0.",
                "environment.yml (cuda-version 12.8.*)",
            ],
        ),
    ],
    ids=["environment-cpu", "mypy", "noxfile", "ci", "cuda"],
)
def test_a_planted_mismatch_is_reported_naming_both_places(
    bake: Bake, path: str, old: str, new: str, places: list[str]
) -> None:
    project = bake(python_version="3.11")
    replace_in(project / path, old, new)
    problems = version_problems(project)
    assert len(problems) == 1, problems
    assert all(place in problems[0] for place in places), problems[0]


def test_a_malformed_environment_file_is_reported_naming_the_file(bake: Bake) -> None:
    project = bake()
    (project / "environment.yml").write_text("dependencies: [python=3.11\n")
    with pytest.raises(EnvironmentFileError, match=r"^environment\.yml is not valid YAML"):
        version_problems(project)


def test_the_env_session_refuses_a_malformed_file_before_running_conda(
    bake: Bake, tmp_path: Path
) -> None:
    project = bake()
    conda = recording_command(tmp_path / "bin", "conda")
    (project / "environment-cpu.yml").write_text(
        "name: x\ndependencies:\n  - python=3.11\n - pip\n"
    )
    result = run_nox(project, "-s", "env", "--", "cpu", path_first=[conda.parent])
    assert result.returncode == 1
    assert "environment-cpu.yml is not valid YAML (line 4: expected <block end>" in result.stdout
    assert "fix it, or restore it with `git checkout -- environment-cpu.yml`" in result.stdout
    assert calls(conda) == []


def test_the_env_session_refuses_a_cuda_version_other_than_torchs(
    bake: Bake, tmp_path: Path
) -> None:
    project = bake()
    conda = recording_command(tmp_path / "bin", "conda")
    replace_in(project / "environment.yml", "cuda-version=13.0", "cuda-version=12.8")
    result = run_nox(project, "-s", "env", "--", "gpu", path_first=[conda.parent])
    assert result.returncode == 1
    assert "environment.yml asks for `cuda-version=12.8`, but requirements/prod.txt's " in (
        result.stdout
    )
    assert "needs cuda-version 13.0: write `cuda-version=13.0`" in result.stdout
    assert calls(conda) == []


def test_the_env_session_updates_the_environment_from_the_checked_file(
    bake: Bake, tmp_path: Path
) -> None:
    project = bake()
    conda = recording_command(tmp_path / "bin", "conda")
    for target in ("gpu", "cpu"):
        result = run_nox(project, "-s", "env", "--", target, path_first=[conda.parent])
        assert result.returncode == 0, result.stdout
    assert calls(conda) == [
        "env update --file environment.yml --prune",
        "env update --file environment-cpu.yml --prune",
    ]
