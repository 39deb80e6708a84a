"""Which interpreters `nox -s sync` may rewrite, and which machines each lock target fits.

A sync removes every package the locks do not name, so it writes only to an environment of the
project's own: a virtualenv, or a conda environment other than base. The interpreters here are real
(the one running these tests, seen through a symlink or with another home) or, for other operating
systems, stubs that answer the noxfile's probe as such a machine's Python would.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import sysconfig
import venv
from pathlib import Path
from types import ModuleType

import pytest

PROJECT = Path(__file__).resolve().parents[1]
PYTHON = "{}.{}".format(*sys.version_info[:2])


@pytest.fixture(scope="module")
def noxfile() -> ModuleType:
    """The project's noxfile, imported as a module (its sessions are plain functions)."""
    spec = importlib.util.spec_from_file_location("project_noxfile", PROJECT / "noxfile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    """A stub that answers the noxfile's machine probe as another system's Python would."""
    folder.mkdir()
    python = folder / "python"
    python.write_text(f"#!/bin/sh\necho {platform} {machine} {version} unknown unknown\n")
    python.chmod(0o755)
    return python


def test_a_global_python_is_refused(noxfile: ModuleType, tmp_path: Path) -> None:
    python = global_python(tmp_path / "bin")
    assert noxfile.environment_problem(str(python)) == (
        f"refusing to sync {python}: it is not a virtualenv or conda environment, and a sync removes "
        "every package the locks do not name. Activate the project's environment (`conda activate "
        f"{noxfile.PROJECT}`, or `python -m venv .venv && . .venv/bin/activate`), then sync again"
    )


def test_condas_base_environment_is_refused(
    noxfile: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = tmp_path / "miniforge3"
    python = conda_python(prefix, "conda-25.1.1-py312h7900ff3_0")
    monkeypatch.setenv("CONDA_PREFIX", str(prefix))
    monkeypatch.setenv("CONDA_DEFAULT_ENV", "base")
    problem = noxfile.environment_problem(str(python))
    assert problem is not None
    assert problem.startswith(f"refusing to sync {python}: it is conda's base environment, ")


def test_a_named_conda_environment_is_accepted(
    noxfile: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = tmp_path / "miniforge3" / "envs" / "project"
    python = conda_python(prefix, f"python-{PYTHON}.0-h9e4cc4f_0")
    monkeypatch.setenv("CONDA_PREFIX", str(prefix))
    monkeypatch.setenv("CONDA_DEFAULT_ENV", "project")
    assert noxfile.environment_problem(str(python)) is None


def test_a_virtualenv_is_accepted(noxfile: ModuleType, tmp_path: Path) -> None:
    venv.create(tmp_path / "venv", with_pip=False)
    assert noxfile.environment_problem(str(tmp_path / "venv" / "bin" / "python")) is None


def test_windows_is_told_to_use_wsl2_in_one_line(noxfile: ModuleType, tmp_path: Path) -> None:
    python = stub_python(tmp_path / "bin", "win32", "AMD64", noxfile.PYTHON)
    problem = noxfile.machine_problem(str(python), "cpu")
    assert problem.startswith("Windows is not a target of these locks: work in WSL2")
    assert "\n" not in problem


def test_a_mac_takes_the_macos_lock_and_only_it(noxfile: ModuleType, tmp_path: Path) -> None:
    python = stub_python(tmp_path / "bin", "darwin", "arm64", noxfile.PYTHON)
    assert noxfile.machine_problem(str(python), "macos") is None
    assert noxfile.machine_problem(str(python), "cpu") == (
        "this Mac takes the macos target (macos-arm64.txt): `nox -s sync -- macos`"
    )


def test_the_macos_lock_is_refused_off_a_mac(noxfile: ModuleType) -> None:
    problem = noxfile.machine_problem(sys.executable, "macos")
    assert problem is not None and "is not a Mac on Apple silicon" in problem


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the Linux locks are for x86_64")
def test_this_linux_machine_takes_the_linux_locks(noxfile: ModuleType) -> None:
    if PYTHON != noxfile.PYTHON:
        pytest.skip(f"the project is for Python {noxfile.PYTHON}; these tests run on {PYTHON}")
    assert noxfile.machine_problem(sys.executable, "cpu") is None
