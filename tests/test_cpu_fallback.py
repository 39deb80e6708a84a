"""A CPU sync never installs PyPI's CUDA torch behind a user's back.

Where a Python's shipped prod-cpu.txt is the fallback (PyPI's torch and its CUDA wheels, because
torch's CPU build could not be resolved when the template's locks were compiled), `nox -s sync --
cpu` first moves the lock to the CPU build with `nox -s lock`'s own resolution wherever torch's CPU
index answers, and stops, saying what it would download, where it does not.

The index here is a mirror on loopback listing a torch +cpu wheel for the bake's Python: a
stand-in that carries torch's metadata (its version and requirements, from the torch installed in
this environment) and no code, enough for the resolution; the sync's installs are recorded, not run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from baked_nox import calls, run_nox
from clean_machine import find_python, served_index
from conftest import TEMPLATE, Bake
from options import CHOICES
from stand_in_torch import CUDA_PREFIXES, stand_in_torch_wheel

REQUIRED = os.environ.get("REQUIRE_SERVICES") == "1"
UNREACHABLE = "http://127.0.0.1:9/whl/cpu"


def is_fallback(version: str) -> bool:
    lock = TEMPLATE / "{{cookiecutter.project_slug}}" / "locks" / f"py{version}" / "prod-cpu.txt"
    return lock.read_text().startswith("# CPU lock fallback:")


FALLBACK_PYTHONS = [version for version in CHOICES["python_version"] if is_fallback(version)]


def fallback_interpreter() -> tuple[str, Path]:
    """A Python whose shipped CPU lock is the fallback, and its interpreter (the running first)."""
    running = "{}.{}".format(*sys.version_info[:2])
    base = Path(getattr(sys, "_base_executable", sys.executable))
    found: list[tuple[str, Path | None]] = [(running, base)] if running in FALLBACK_PYTHONS else []
    found += [(version, find_python(version)) for version in FALLBACK_PYTHONS]
    for version, python in found:
        if python is not None:
            return version, python
    message = f"no interpreter here of a Python with a fallback CPU lock ({FALLBACK_PYTHONS})"
    if REQUIRED:
        pytest.fail(message)
    pytest.skip(message)


def sync_tools(folder: Path) -> Path:
    """nox, and a `uv` that resolves for real (`uv pip compile`) and records everything else."""
    folder.mkdir(parents=True)
    (folder / "nox").symlink_to(Path(sys.executable).parent / "nox")
    real_uv = Path(sys.executable).parent / "uv"
    (folder / "uv").write_text(
        "#!/bin/sh\n"
        f'if [ "$1 $2" = "pip compile" ]; then exec {real_uv} "$@"; fi\n'
        f'echo "$@" >> "{folder / "uv.calls"}"\n'
    )
    (folder / "uv").chmod(0o755)
    return folder


def run_sync(project: Path, tmp_path: Path, python: Path, index: str, *args: str) -> str:
    """`nox -s sync -- cpu ARGS` into a pip-less virtualenv of `python` (made once), with the tools
    of sync_tools; the exit status and output."""
    venv, tools = tmp_path / "venv", tmp_path / "tools"
    if not venv.exists():
        subprocess.run([str(python), "-m", "venv", "--without-pip", str(venv)], check=True)
    path = os.pathsep.join([str(venv / "bin"), str(tools), "/usr/bin", "/bin"])
    result = run_nox(
        project,
        "-s",
        "sync",
        "--",
        "cpu",
        *args,
        variables={"PATH": path, "TORCH_CPU_INDEX_URL": index},
    )
    return f"exit {result.returncode}\n{result.stdout}"


@pytest.fixture
def fallback_bake(bake: Bake, tmp_path: Path) -> tuple[Path, Path, str]:
    """A bake for a Python whose CPU lock is the fallback, its interpreter, and its Python."""
    version, python = fallback_interpreter()
    project = bake(python_version=version, logger="csv")
    sync_tools(tmp_path / "tools")
    return project, python, version


def test_a_cpu_sync_first_moves_a_fallback_lock_to_torchs_cpu_build(
    fallback_bake: tuple[Path, Path, str], tmp_path: Path
) -> None:
    project, python, version = fallback_bake
    cpu_lock = project / "requirements" / "prod-cpu.txt"
    with served_index(stand_in_torch_wheel(tmp_path / "wheels", version).parent) as index:
        assert index is not None
        planned = run_sync(project, tmp_path, python, index, "--dry-run")
        assert planned.startswith("exit 0\n"), planned[-3000:]
        (install,) = re.findall(r"sync will install \d+ packages in \S+: (.*)", planned)
        assert "torch" in install.split(", ")
        cuda = [name for name in install.split(", ") if name.startswith(CUDA_PREFIXES)]
        assert cuda == ["nvidia-ml-py"]  # NVML's pure-Python bindings, locked for every target
        assert "a sync would first rewrite requirements/prod-cpu.txt" in planned
        assert cpu_lock.read_text().startswith("# CPU lock fallback:")  # a dry run changes nothing
        assert not cpu_lock.with_name("prod-cpu.txt.new").exists()

        synced = run_sync(project, tmp_path, python, index)
    assert synced.startswith("exit 0\n"), synced[-3000:]
    assert (
        "requirements/prod-cpu.txt is the fallback lock (PyPI's torch and " in synced
        and "moving it to torch's CPU build from " in synced
    )
    assert "requirements/prod-cpu.txt now pins torch's CPU build and no CUDA packages" in synced
    pins = cpu_lock.read_text()
    assert "\ntorch==2.13.0+cpu " in pins and "\nnvidia-cu" not in pins
    synced_call, _ = calls(tmp_path / "tools" / "uv")
    assert f"--extra-index-url={index}" in synced_call
    locks = "requirements/prod-cpu.txt requirements/dev.txt requirements/sweep.txt"
    assert synced_call.endswith(locks)


def test_a_cpu_sync_of_a_fallback_lock_stops_where_torchs_cpu_index_is_out_of_reach(
    fallback_bake: tuple[Path, Path, str], tmp_path: Path
) -> None:
    project, python, _ = fallback_bake
    cpu_lock = project / "requirements" / "prod-cpu.txt"
    before = cpu_lock.read_text()
    output = run_sync(project, tmp_path, python, UNREACHABLE)
    assert output.startswith("exit 1\n")
    assert re.search(
        r"requirements/prod-cpu.txt is the fallback lock, which would install PyPI's torch and "
        r"\d+ CUDA packages \(\S+, \S+, \.\.\.\): several GB that a CPU machine does "
        r"not use; moving it to torch's CPU build needs torch's CPU index: torch's CPU index "
        + re.escape(UNREACHABLE)
        + r"/torch/ cannot be reached .*\. Or set ALLOW_CUDA_WHEELS=1 to install the CUDA build "
        r"anyway",
        output,
    ), output[-3000:]
    assert cpu_lock.read_text() == before
    assert calls(tmp_path / "tools" / "uv") == []


def test_the_prompt_says_which_answers_ship_a_cpu_torch_lock() -> None:
    labels = json.loads((TEMPLATE / "cookiecutter.json").read_text())["__prompts__"]
    for version in CHOICES["python_version"]:
        label = labels["python_version"][version]
        says_cpu_build = "CPU lock: torch's CPU build, as shipped" in label
        assert says_cpu_build == (version not in FALLBACK_PYTHONS), label
