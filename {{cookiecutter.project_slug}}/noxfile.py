"""Checks and tasks of {{ cookiecutter.project_name }}. CI runs `nox -s lint tests -- --slow`.

    nox -s lint tests        pre-commit's hooks on every file, then the tests (-- --slow: all)
    nox -s env               create or update the conda environment (-- cpu|gpu to choose the file)
    nox -s lock              compile every requirements/*.in into its hash-checked locks
    nox -s upgrade           the same, moving pins to the newest releases (-- PACKAGE for one)
    nox -s sync              make this environment match the locks (-- gpu|cpu|macos, --dry-run)
    nox -s template_check    whether the template this project was made from has changes it lacks
    nox -s drop_examples     remove the bundled examples, for a project of your own

`nox --no-venv -s lint tests` runs in the current, already synced environment instead of a new one.
Every session that installs or checks locks first makes sure they are in step with their .in files.
Installs use uv where it is installed (it is locked in dev.txt), pip and pip-sync otherwise.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import nox
from nox.command import CommandFailed

# The logic of these sessions lives in the package, where it is tested (and where `doctor` applies
# the rules for locks too). It is read from src/ because `sync` runs before the package is installed.
sys.path.insert(0, str(Path(__file__).parent / "src"))
from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal  # noqa: E402
from {{ cookiecutter.package_name }}.infra.machine import locks, torch_index  # noqa: E402
from {{ cookiecutter.package_name }}.infra.machine.environment_files import (  # noqa: E402
    ENVIRONMENT_FILES,
    environment_problems,
)
from {{ cookiecutter.package_name }}.infra.machine.lock_compiling import (  # noqa: E402
    compile_locks,
    cpu_lock_candidate,
    with_cpu_lock_moved,
)
from {{ cookiecutter.package_name }}.infra.machine.sync_checks import (  # noqa: E402
    environment_problem,
    installer_beside,
    machine_problem,
    machine_target,
)
from {{ cookiecutter.package_name }}.infra.machine.sync_plan import what_changes  # noqa: E402
from {{ cookiecutter.package_name }}.infra.tools import examples  # noqa: E402

PYTHON = "{{ cookiecutter.python_version }}"
PROJECT = "{{ cookiecutter.project_slug }}"
REQUIREMENTS = Path("requirements")
# The project itself, built by the locked setuptools (dev.txt) rather than one fetched unpinned.
EDITABLE_INSTALL = ["--no-deps", "--no-build-isolation", "--editable", "."]
SYNC_FLAGS = {
    "--dry-run": "say what the sync would remove and install, and change nothing",
    "--system-python": "allow a Python that is not a virtualenv or conda environment (a CI runner's)",
}

nox.options.sessions = ["lint", "tests"]
nox.options.error_on_missing_interpreters = True  # a missing Python fails; it never skips to green
nox.options.error_on_external_run = True
nox.options.default_venv_backend = "uv|virtualenv"


def chosen_target(session: nox.Session, flags: tuple[str, ...] = ()) -> tuple[str, set[str]]:
    """The target named after `--` (else the one this machine matches), and the flags given."""
    targets = [argument for argument in session.posargs if not argument.startswith("-")]
    given = {argument for argument in session.posargs if argument.startswith("-")}
    unknown = sorted(given - set(flags))
    if unknown or len(targets) > 1 or (targets and targets[0] not in locks.TARGETS):
        accepted = " | ".join(locks.TARGETS)
        options = "".join(f" [{flag}]" for flag in flags)
        session.error(
            f"unexpected arguments {' '.join(session.posargs)!r}: give `-- [{accepted}]{options}`"
        )
    return (targets[0] if targets else machine_target()), given


def checked_locks(session: nox.Session, target: str | None) -> list[Path]:
    """Stop with a clear error if a lock is out of step or missing; return `target`'s locks."""
    problems = locks.out_of_step(REQUIREMENTS, PYTHON)
    if problems:
        session.error("locks out of step with their .in files:\n  " + "\n  ".join(problems))
    if target is None:
        return []
    try:
        return locks.locks_for(REQUIREMENTS, target)
    except Refusal as error:
        session.error(str(error))


def torch_source(session: nox.Session, lock_files: list[Path], installer: str) -> list[str]:
    """The installer's arguments that find torch's CPU build, if a lock pins it; [] otherwise."""
    if not any(torch_index.pins_cpu_torch(lock) for lock in lock_files):
        return []
    try:
        torch_index.check_reachable()
    except torch_index.UnreachableIndex as error:
        session.error(str(error))
    return torch_index.source_arguments(installer)


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
        checked_locks(session, None)  # `nox --no-venv`: the environment is already synced
        return
    target = machine_target()
    problem = machine_problem(str(Path(session.bin) / "python"), target, PYTHON, REQUIREMENTS)
    if problem:
        session.error(problem)
    lock_files = with_cpu_lock_moved(session, checked_locks(session, target), PYTHON)
    installer = "uv" if session.venv_backend == "uv" else "pip"
    source = torch_source(session, lock_files, installer)
    arguments = [f"--requirement={lock}" for lock in lock_files]
    session.log(torch_index.install_notice(lock_files))
    session.install("--require-hashes", "--no-deps", *source, *arguments)
    session.install(*EDITABLE_INSTALL)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Run every pre-commit hook (black, flake8, mypy, hygiene) on every file."""
    install_locked(session)
    session.run("pre-commit", "run", "--all-files", "--show-diff-on-failure")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite (`-- --slow`: the slow tests too, as CI does), a worker per core; GPU
    tests skip, with their reason, on machines without a GPU."""
    install_locked(session)
    # Tests go to whichever worker is free; what several tests read (a fitted run, the DDP
    # launch) is made once for all workers (conftest.made_once).
    session.run("pytest", "--numprocesses=auto", "--dist=load", *session.posargs)


@nox.session(venv_backend="none")
def lock(session: nox.Session) -> None:
    """Compile every requirements/*.in into its lock, keeping existing pins where they still fit."""
    compile_locks(session, REQUIREMENTS, PYTHON)


@nox.session(venv_backend="none")
def upgrade(session: nox.Session) -> None:
    """Recompile the locks with the newest releases: all of them, or `-- PACKAGE [PACKAGE ...]`."""
    flags = [f"--upgrade-package={name}" for name in session.posargs] or ["--upgrade"]
    compile_locks(session, REQUIREMENTS, PYTHON, *flags)


@nox.session(venv_backend="none")
def sync(session: nox.Session) -> None:
    """Make the current environment match the locks exactly: `-- gpu|cpu|macos`, else detected.

    The environment is that of the `python` first on PATH: a virtualenv or a conda environment other
    than base, never a system Python (`--system-python` allows a CI runner's). `--dry-run` says what
    would change and changes nothing.
    """
    target, flags = chosen_target(session, tuple(SYNC_FLAGS))
    python = shutil.which("python")
    if python is None:
        session.error("`python` is not on PATH: activate the project's environment first")
    problem = machine_problem(python, target, PYTHON, REQUIREMENTS)
    if problem is None and "--system-python" not in flags:
        problem = environment_problem(python, PROJECT)
    if problem:
        session.error(problem)
    lock_files = checked_locks(session, target)
    uv, pip_sync = installer_beside(python, "uv"), installer_beside(python, "pip-sync")
    if uv is None and pip_sync is None:
        session.error(
            f"neither uv nor pip-sync is installed beside {python}: "
            "python -m pip install --require-hashes --no-deps -r requirements/dev.txt"
        )
    dry_run = "--dry-run" in flags
    lock_files = with_cpu_lock_moved(session, lock_files, PYTHON, dry_run=dry_run)
    source = torch_source(session, lock_files, "uv" if uv else "pip")
    for line in what_changes(python, lock_files, PROJECT, every_name=dry_run):
        session.log(line)
    if dry_run:
        cpu_lock_candidate(REQUIREMENTS).unlink(missing_ok=True)
        return
    session.log(torch_index.install_notice(lock_files))
    try:
        if uv:
            python_option = f"--python={python}"
            session.run(uv, "pip", "sync", python_option, "--require-hashes", *source, *lock_files)
            session.run(uv, "pip", "install", python_option, *EDITABLE_INSTALL)
        else:
            assert pip_sync is not None
            pip_args = [f"--pip-args={' '.join(source)}"] if source else []
            session.run(pip_sync, f"--python-executable={python}", *lock_files, *pip_args)
            # pip-sync leaves setuptools as it finds it; the build needs the locked one.
            locked = [f"--requirement={lock}" for lock in lock_files]
            install = [python, "-m", "pip", "install", "--require-hashes", "--no-deps"]
            session.run(*install, *source, *locked)
            session.run(python, "-m", "pip", "install", *EDITABLE_INSTALL)
    except CommandFailed:
        session.error(
            f"the sync stopped part-way, so the environment of {python} may hold a mix of old and "
            "new packages: fix the error above, then run `nox -s sync` again"
        )


@nox.session(venv_backend="none")
def env(session: nox.Session) -> None:
    """Create or update the conda environment: `-- gpu` (environment.yml) or `-- cpu`, else detected.

    The file is checked first: it parses, and its Python and CUDA versions are those of the locks.
    """
    environment_file = ENVIRONMENT_FILES[chosen_target(session)[0]]
    problems = environment_problems(environment_file, PYTHON, REQUIREMENTS)
    if problems:
        session.error("\n  ".join([f"{environment_file} cannot be used:", *problems]))
    if shutil.which("conda") is None:
        session.error("conda is not on PATH: install Miniforge (conda-forge.org/download) first")
    session.run("conda", "env", "update", "--file", str(environment_file), "--prune", external=True)


@nox.session(venv_backend="none")
def template_check(session: nox.Session) -> None:
    """Say whether the template recorded in .cruft.json has changes this project lacks.

    `cruft update` then applies them (README: "Updates of the infrastructure").
    """
    if not Path(".cruft.json").is_file():
        session.error(
            ".cruft.json is missing: `cruft link TEMPLATE_URL` records the template this project "
            "came from"
        )
    use_tools_beside_this_python()
    session.run("cruft", "check")


@nox.session(venv_backend="none")
def drop_examples(session: nox.Session) -> None:
    """Remove the bundled examples: their code, preset, notebook cells and tests (the list is
    infra/tools/examples.py); config.yaml is left naming no model, for yours."""
    try:
        done = examples.drop(Path(__file__).parent)
    except examples.CannotDrop as error:
        session.error(str(error))
    if not done:
        session.log("The examples are already gone: nothing to drop.")
        return
    for line in done:
        session.log(line)
    session.log(examples.NEXT_STEP)
