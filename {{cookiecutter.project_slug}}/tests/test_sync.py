"""Which interpreters `nox -s sync` may rewrite, which machines each lock target fits, and what a
sync says it changes.

A sync removes every package the locks do not name, so it writes only to an environment of the
project's own: a virtualenv, or a conda environment other than base. The interpreters here are real
(the one running these tests, seen through a symlink or with another home) or, for other operating
systems, stubs that answer the sync's probes as such a machine's Python would.
"""

from __future__ import annotations

import json
import os
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.infra.machine.sync_checks import (
    environment_problem,
    machine_problem,
)
from {{ cookiecutter.package_name }}.infra.machine.sync_plan import what_changes

PROJECT = Path(__file__).resolve().parents[1]
PACKAGE = "{{ cookiecutter.package_name }}"
PYTHON = "{}.{}".format(*sys.version_info[:2])
REQUIREMENTS = Path("requirements")


def base_interpreter() -> Path:
    """The interpreter under any virtualenv these tests run in."""
    return Path(getattr(sys, "_base_executable", sys.executable)).resolve()


def global_python(folder: Path) -> Path:
    """A Python that is no environment of its own: the base interpreter, through a symlink."""
    folder.mkdir()
    python = folder / "python"
    python.symlink_to(base_interpreter())
    return python


def conda_python(prefix: Path, package: str) -> Path:
    """A Python whose prefix is laid out as a conda environment holding `package`."""
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "conda-meta" / f"{package}.json").write_text("{}")
    library = prefix / "lib" / f"python{PYTHON}"
    library.parent.mkdir()
    library.symlink_to(sysconfig.get_paths()["stdlib"])
    python = prefix / "bin" / "python"
    python.parent.mkdir()
    python.write_text(f'#!/bin/sh\nPYTHONHOME="{prefix}" exec "{base_interpreter()}" "$@"\n')
    python.chmod(0o755)
    return python


def stub_python(folder: Path, platform: str, machine: str, version: str) -> Path:
    """A stub that answers the machine probe as another system's Python would."""
    return stub_answering(folder, f"{platform} {machine} {version} unknown unknown")


def stub_answering(folder: Path, answer: str) -> Path:
    """A `python` in `folder` that prints `answer`, whatever it is asked."""
    folder.mkdir()
    python = folder / "python"
    python.write_text(f"#!/bin/sh\ncat <<'END'\n{answer}\nEND\n")
    python.chmod(0o755)
    return python


def test_a_global_python_is_refused(tmp_path: Path) -> None:
    python = global_python(tmp_path / "bin")
    assert environment_problem(str(python), "my-project") == (
        f"refusing to sync {python}: it is not a virtualenv or conda environment, and a sync removes "
        "every package the locks do not name. Activate the project's environment (`conda activate "
        "my-project`, or `python -m venv .venv && . .venv/bin/activate`), then sync again"
    )


def test_condas_base_environment_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = tmp_path / "miniforge3"
    python = conda_python(prefix, "conda-25.1.1-py312h7900ff3_0")
    monkeypatch.setenv("CONDA_PREFIX", str(prefix))
    monkeypatch.setenv("CONDA_DEFAULT_ENV", "base")
    problem = environment_problem(str(python), "my-project")
    assert problem is not None
    assert problem.startswith(f"refusing to sync {python}: it is conda's base environment, ")


def test_a_named_conda_environment_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = tmp_path / "miniforge3" / "envs" / "project"
    python = conda_python(prefix, f"python-{PYTHON}.0-h9e4cc4f_0")
    monkeypatch.setenv("CONDA_PREFIX", str(prefix))
    monkeypatch.setenv("CONDA_DEFAULT_ENV", "project")
    assert environment_problem(str(python), "my-project") is None


def test_a_virtualenv_is_accepted(tmp_path: Path) -> None:
    venv.create(tmp_path / "venv", with_pip=False)
    assert environment_problem(str(tmp_path / "venv" / "bin" / "python"), "my-project") is None


def test_windows_is_told_to_use_wsl2_in_one_line(tmp_path: Path) -> None:
    python = stub_python(tmp_path / "bin", "win32", "AMD64", PYTHON)
    problem = machine_problem(str(python), "cpu", PYTHON, REQUIREMENTS)
    assert problem is not None
    assert problem.startswith("Windows is not a target of these locks: work in WSL2")
    assert "\n" not in problem


def test_a_mac_takes_the_macos_lock_and_only_it(tmp_path: Path) -> None:
    python = stub_python(tmp_path / "bin", "darwin", "arm64", PYTHON)
    assert machine_problem(str(python), "macos", PYTHON, REQUIREMENTS) is None
    assert machine_problem(str(python), "cpu", PYTHON, REQUIREMENTS) == (
        "this Mac takes the macos target (macos-arm64.txt): `nox -s sync -- macos`"
    )


def test_the_macos_lock_is_refused_off_a_mac() -> None:
    problem = machine_problem(sys.executable, "macos", PYTHON, REQUIREMENTS)
    assert problem is not None and "is not a Mac on Apple silicon" in problem


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the Linux locks are for x86_64")
def test_this_linux_machine_takes_the_linux_locks() -> None:
    assert machine_problem(sys.executable, "cpu", PYTHON, REQUIREMENTS) is None


def test_another_python_version_is_told_to_activate_the_projects_environment(
    tmp_path: Path,
) -> None:
    python = stub_answering(tmp_path / "bin", "linux x86_64 3.9 glibc 2.35")
    assert machine_problem(str(python), "gpu", PYTHON, REQUIREMENTS) == (
        f"{python} is Python 3.9, but the locks in requirements/ for the gpu target install on "
        f"Linux x86_64 with glibc 2.28 or newer and Python {PYTHON}: activate the project's conda "
        "environment (`conda env create -f environment.yml` makes it), or a virtualenv of Python "
        f"{PYTHON}"
    )


@pytest.mark.parametrize(("libc", "version"), [("glibc", "2.17"), ("unknown", "unknown")])
def test_a_c_library_older_than_the_wheels_or_not_glibc_matches_no_target(
    tmp_path: Path, libc: str, version: str
) -> None:
    python = stub_answering(tmp_path / "bin", f"linux x86_64 {PYTHON} {libc} {version}")
    problem = machine_problem(str(python), "cpu", PYTHON, REQUIREMENTS)
    assert problem is not None
    assert problem.startswith(f"this machine's C library is {libc} {version}, so it matches no ")


def write_lock(path: Path, pins: dict[str, str]) -> Path:
    """A lock of `pins`, each with a (made-up) hash."""
    entries = [f"{name}=={version} \\\n    --hash=sha256:0\n" for name, version in pins.items()]
    path.write_text("".join(entries))
    return path


def python_with_installed(folder: Path, installed: dict[str, str]) -> Path:
    """A stub Python whose environment holds `installed` (as the sync's probe lists it)."""
    return stub_answering(folder, json.dumps(installed))


def test_a_sync_says_what_it_removes_installs_and_changes(tmp_path: Path) -> None:
    pins = {"numpy": "2.1.0", "pyyaml": "6.0.2", "torch": "2.8.0"}
    lock = write_lock(tmp_path / "prod.txt", pins)
    installed = {"numpy": "2.0.0", "PyYAML": "6.0.2", "requests": "2.32.0", "pip": "25.0"}
    installed |= {"my-project": "0.1.0", "setuptools": "80.0"}
    python = python_with_installed(tmp_path / "bin", installed)
    assert what_changes(str(python), [lock], "my_project") == [
        f"sync will remove 1 packages in {python}: requests",
        f"sync will install 1 packages in {python}: torch",
        f"sync will change 1 packages in {python}: numpy",
    ]


def test_a_sync_counts_many_changes_and_a_dry_run_names_them_all(tmp_path: Path) -> None:
    many = {f"package-{number:02}": "1.0" for number in range(21)}
    lock = write_lock(tmp_path / "prod.txt", many)
    python = python_with_installed(tmp_path / "bin", {})
    assert what_changes(str(python), [lock], "my-project")[1] == (
        f"sync will install 21 packages in {python}"
    )
    named = what_changes(str(python), [lock], "my-project", every_name=True)[1]
    assert named == f"sync will install 21 packages in {python}: {', '.join(sorted(many))}"
