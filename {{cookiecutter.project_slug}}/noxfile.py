"""Checks and tasks of {{ cookiecutter.project_name }}. CI runs `nox -s lint tests`.

    nox -s lint tests        pre-commit's hooks on every file, then the test suite
    nox -s lock              compile every requirements/*.in into its hash-checked lock
    nox -s upgrade           the same, moving pins to the newest releases (-- PACKAGE for one)
    nox -s sync              make this environment match the locks (-- cpu|gpu to choose the target)

`nox --no-venv -s lint tests` runs in the current, already synced environment instead of a new one.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import nox

PYTHON = "{{ cookiecutter.python_version }}"
REQUIREMENTS = Path("requirements")
# Every lock resolves for Linux x86_64 (the platform of GPU boxes and CI runners) on any machine.
LOCK_PLATFORM = "x86_64-manylinux_2_28"
# Where the CPU build of torch comes from; a folder of wheels can stand in (TORCH_CPU_FIND_LINKS).
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
CUDA_ONLY_PACKAGES = ("nvidia-", "cuda-", "triton")

nox.options.sessions = ["lint", "tests"]
nox.options.error_on_missing_interpreters = True  # a missing Python fails; it never skips to green
nox.options.error_on_external_run = True


def extras() -> list[Path]:
    """The lock of every optional feature (such as the logger), each constrained by prod.txt."""
    return sorted(
        REQUIREMENTS / f"{source.stem}.txt"
        for source in REQUIREMENTS.glob("*.in")
        if source.stem not in ("prod", "dev")
    )


def machine_target() -> str:
    """'gpu' where an NVIDIA driver is installed, else 'cpu'."""
    return "gpu" if shutil.which("nvidia-smi") else "cpu"


def locks_for(target: str) -> list[Path]:
    """The lock files that together make an environment for `target` ('cpu' or 'gpu')."""
    if target not in ("cpu", "gpu"):
        raise ValueError(f"unknown target {target!r}: use cpu or gpu")
    prod = REQUIREMENTS / ("prod.txt" if target == "gpu" else "prod-cpu.txt")
    locks = [prod, REQUIREMENTS / "dev.txt", *extras()]
    missing = [str(lock) for lock in locks if not lock.exists()]
    if missing:
        raise FileNotFoundError(
            f"missing lock {', '.join(missing)}: run `nox -s lock` to compile it"
        )
    return locks


def torch_cpu_source() -> list[str]:
    """pip and uv arguments that find the CPU build of torch, which PyPI does not carry."""
    wheels = os.environ.get("TORCH_CPU_FIND_LINKS")
    return [f"--find-links={wheels}"] if wheels else [f"--extra-index-url={TORCH_CPU_INDEX}"]


def use_tools_beside_this_python() -> None:
    """Put the scripts folder of the Python running nox first on PATH, for `nox --no-venv`.

    Started as `<env>/bin/python -m nox` without activating the environment (as VS Code's tasks are),
    nox and pre-commit would otherwise look for pytest, black, flake8 and mypy elsewhere on PATH.
    """
    scripts = str(Path(sys.executable).parent)
    os.environ["PATH"] = os.pathsep.join([scripts, os.environ.get("PATH", "")])


def install_locked(session: nox.Session) -> None:
    """Install the locks for this machine, hash-checked, then the project itself without deps."""
    if session.venv_backend == "none":
        use_tools_beside_this_python()
        return  # `nox --no-venv`: the current environment is already synced
    target = machine_target()
    arguments = [f"--requirement={lock}" for lock in locks_for(target)]
    source = torch_cpu_source() if target == "cpu" else []
    session.install("--require-hashes", "--no-deps", *source, *arguments)
    session.install("--no-deps", "--editable", ".")


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Run every pre-commit hook (black, flake8, mypy, hygiene) on every file."""
    install_locked(session)
    session.run("pre-commit", "run", "--all-files", "--show-diff-on-failure")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite; GPU tests skip, with their reason, on machines without a GPU."""
    install_locked(session)
    session.run("pytest", *session.posargs)


def compile_locks(session: nox.Session, *upgrade: str) -> None:
    common = [
        f"--python-version={PYTHON}",
        f"--python-platform={LOCK_PLATFORM}",
        "--generate-hashes",
        "--quiet",
        "--custom-compile-command=nox -s lock",
        *upgrade,
    ]
    with session.chdir(REQUIREMENTS):
        session.run("uv", "pip", "compile", "prod.in", "-o", "prod.txt", *common)
        # Same pins as prod.txt; only torch changes, to its CPU build, which needs no CUDA wheels.
        # Written aside first, so a failed CPU resolution never replaces a good lock.
        cpu_lock = ["prod.in", "--constraint=prod.txt", "-o", "prod-cpu.txt.new"]
        session.run("uv", "pip", "compile", *cpu_lock, *common, *torch_cpu_source())
        for source in sorted(Path().glob("*.in")):
            if source.stem != "prod":
                session.run(
                    "uv", "pip", "compile", source.name, "-o", f"{source.stem}.txt", *common
                )
    candidate = REQUIREMENTS / "prod-cpu.txt.new"
    cpu_pins = candidate.read_text()
    leaked = [
        line.split("==")[0] for line in cpu_pins.splitlines() if line.startswith(CUDA_ONLY_PACKAGES)
    ]
    if "+cpu " not in cpu_pins or leaked:
        candidate.unlink()
        session.error(
            "the CPU lock did not get the CPU build of torch "
            f"(it would install {', '.join(leaked) or 'the CUDA build'}); requirements/prod-cpu.txt is "
            f"unchanged. Make {TORCH_CPU_INDEX} reachable, or point TORCH_CPU_FIND_LINKS at a folder "
            "holding the torch +cpu wheel"
        )
    candidate.replace(REQUIREMENTS / "prod-cpu.txt")


@nox.session(venv_backend="none")
def lock(session: nox.Session) -> None:
    """Compile every requirements/*.in into its lock, keeping existing pins where they still fit."""
    compile_locks(session)


@nox.session(venv_backend="none")
def upgrade(session: nox.Session) -> None:
    """Recompile the locks with the newest releases: all of them, or `-- PACKAGE [PACKAGE ...]`."""
    flags = [f"--upgrade-package={name}" for name in session.posargs] or ["--upgrade"]
    compile_locks(session, *flags)


@nox.session(venv_backend="none")
def sync(session: nox.Session) -> None:
    """Make the current environment match the locks exactly: `-- cpu` or `-- gpu`, else detected."""
    target = session.posargs[0] if session.posargs else machine_target()
    try:
        locks = locks_for(target)
    except (ValueError, FileNotFoundError) as error:
        session.error(str(error))
    source = torch_cpu_source() if target == "cpu" else []
    session.run("pip-sync", *map(str, locks), *(f"--pip-args={arg}" for arg in source))
    session.run("python", "-m", "pip", "install", "--no-deps", "--editable", ".")
