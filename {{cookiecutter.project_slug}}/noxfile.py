"""Checks and tasks of {{ cookiecutter.project_name }}. CI runs `nox -s lint tests`.

    nox -s lint tests        pre-commit's hooks on every file, then the test suite
    nox -s env               create or update the conda environment (-- cpu|gpu to choose the file)
    nox -s lock              compile every requirements/*.in into its hash-checked lock
    nox -s upgrade           the same, moving pins to the newest releases (-- PACKAGE for one)
    nox -s sync              make this environment match the locks (-- cpu|gpu to choose the target)

`nox --no-venv -s lint tests` runs in the current, already synced environment instead of a new one.
Every session that installs or checks locks first makes sure they are in step with their .in files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nox
from nox.command import CommandFailed

# The rules for locks live in the package, where `doctor` applies them too. They are read from src/
# because `sync` runs before the package is installed.
sys.path.insert(0, str(Path(__file__).parent / "src"))
from {{ cookiecutter.package_name }}.infra import locks  # noqa: E402
from {{ cookiecutter.package_name }}.infra.errors import Refusal  # noqa: E402

PYTHON = "{{ cookiecutter.python_version }}"
REQUIREMENTS = Path("requirements")
ENVIRONMENT_FILES = {"gpu": Path("environment.yml"), "cpu": Path("environment-cpu.yml")}
# Every lock resolves for Linux x86_64 (the platform of GPU boxes and CI runners) on any machine.
LOCK_PLATFORM = "x86_64-manylinux_2_28"
LOCK_GLIBC = (2, 28)  # the manylinux_2_28 wheels need glibc 2.28 or newer
# Where the CPU build of torch comes from; a folder of wheels can stand in (TORCH_CPU_FIND_LINKS).
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# What an interpreter says about itself: platform, machine, Python version, C library and version.
PROBE = (
    "import platform, sys; "
    "print(sys.platform, platform.machine(), '%d.%d' % sys.version_info[:2], "
    "*(part or 'unknown' for part in platform.libc_ver()))"
)

nox.options.sessions = ["lint", "tests"]
nox.options.error_on_missing_interpreters = True  # a missing Python fails; it never skips to green
nox.options.error_on_external_run = True


def machine_target() -> str:
    """'gpu' where an NVIDIA driver is installed, else 'cpu'."""
    return "gpu" if shutil.which("nvidia-smi") else "cpu"


def chosen_target(session: nox.Session) -> str:
    """The target named after `--` (cpu or gpu), else the one this machine matches."""
    target = session.posargs[0] if session.posargs else machine_target()
    if target not in locks.TARGETS:
        session.error(f"unknown target {target!r}: use `-- cpu` or `-- gpu`")
    return target


def machine_problem(python: str) -> str | None:
    """Why the locks cannot install into `python`'s environment, or None if they can."""
    probe = subprocess.run([python, "-c", PROBE], capture_output=True, text=True, check=True)
    system, machine, version, libc, libc_version = probe.stdout.split()
    needs = (
        f"the locks in {REQUIREMENTS}/ (prod.txt for a GPU, prod-cpu.txt for a CPU) install on "
        f"Linux x86_64 with glibc {'.'.join(map(str, LOCK_GLIBC))} or newer and Python {PYTHON}"
    )
    if (system, machine) != ("linux", "x86_64"):
        return (
            f"this machine ({system} {machine}) matches neither target: {needs}. Work on such a "
            "machine (a GPU box, a CI runner, a Linux container), or install unlocked: pip install -e ."
        )
    glibc = tuple(int(part) for part in libc_version.split(".")[:2] if part.isdigit())
    if libc != "glibc" or glibc < LOCK_GLIBC:
        return (
            f"this machine's C library is {libc} {libc_version}, so it matches neither target: "
            f"{needs}"
        )
    if version != PYTHON:
        return (
            f"{python} is Python {version}, but {needs}: activate the project's conda environment "
            f"(`make env` or `make env-cpu` makes it), or put a Python {PYTHON} first on PATH"
        )
    return None


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
        checked_locks(session, None)  # `nox --no-venv`: the environment is already synced
        return
    problem = machine_problem(str(Path(session.bin) / "python"))
    if problem:
        session.error(problem)
    target = machine_target()
    arguments = [f"--requirement={lock}" for lock in checked_locks(session, target)]
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
        for source in sorted(Path().glob("*.in")):
            if source.stem != "prod":
                session.run(
                    "uv", "pip", "compile", source.name, "-o", f"{source.stem}.txt", *common
                )
        # Same pins as prod.txt; only torch changes, to its CPU build, which needs no CUDA wheels.
        # Compiled last, where the CPU wheels may be unreachable, and written aside first, so a
        # failed CPU resolution never replaces a good lock.
        cpu_lock = ["prod.in", "--constraint=prod.txt", "-o", "prod-cpu.txt.new"]
        session.run("uv", "pip", "compile", *cpu_lock, *common, *torch_cpu_source())
    candidate = REQUIREMENTS / "prod-cpu.txt.new"
    cpu_pins = candidate.read_text()
    leaked = [
        line.split("==")[0]
        for line in cpu_pins.splitlines()
        if line.startswith(locks.CUDA_ONLY_PREFIXES)
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
    """Make the current environment match the locks exactly: `-- cpu` or `-- gpu`, else detected.

    The environment is that of the `python` first on PATH (the active conda environment).
    """
    target = chosen_target(session)
    python = shutil.which("python")
    pip_sync = shutil.which("pip-sync")
    if python is None or pip_sync is None:
        session.error(
            "`python` or `pip-sync` is not on PATH: activate the project's conda environment, then "
            "python -m pip install --require-hashes --no-deps -r requirements/dev.txt"
        )
    problem = machine_problem(python)
    if problem:
        session.error(problem)
    lock_files = checked_locks(session, target)
    pip_args = [f"--pip-args={' '.join(torch_cpu_source())}"] if target == "cpu" else []
    try:
        session.run(pip_sync, f"--python-executable={python}", *map(str, lock_files), *pip_args)
        session.run(python, "-m", "pip", "install", "--no-deps", "--editable", ".")
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
    environment_file = ENVIRONMENT_FILES[chosen_target(session)]
    problems = environment_problems(environment_file)
    if problems:
        session.error("\n  ".join([f"{environment_file} cannot be used:", *problems]))
    if shutil.which("conda") is None:
        session.error("conda is not on PATH: install Miniforge (conda-forge.org/download) first")
    session.run("conda", "env", "update", "--file", str(environment_file), "--prune", external=True)


def environment_problems(environment_file: Path) -> list[str]:
    """What is wrong with a conda environment file, each with its fix; empty if nothing is."""
    git_restore = f"restore it with `git checkout -- {environment_file}`"
    try:
        import yaml
    except ImportError:
        return ["PyYAML is missing: pip install --require-hashes --no-deps -r requirements/dev.txt"]
    try:
        content = yaml.safe_load(environment_file.read_text())
    except FileNotFoundError:
        return [f"{environment_file} is missing: {git_restore}"]
    except yaml.MarkedYAMLError as error:
        place = f"line {error.problem_mark.line + 1}: " if error.problem_mark else ""
        reason = f"{place}{error.problem or error.context}"
        return [f"{environment_file} is not valid YAML ({reason}): fix it, or {git_restore}"]
    except yaml.YAMLError as error:
        return [f"{environment_file} is not valid YAML ({error}): fix it, or {git_restore}"]
    dependencies = content.get("dependencies") if isinstance(content, dict) else None
    if not isinstance(dependencies, list):
        return [f"{environment_file} has no `dependencies:` list: fix it, or {git_restore}"]
    specs = {}  # package name -> (version asked for, the spec as written)
    for spec in dependencies:
        if isinstance(spec, str):
            name, _, version = spec.replace(" ", "=", 1).partition("=")
            specs[name] = (version.removesuffix(".*"), spec)
    # Each version the file must ask for, and where it comes from.
    wanted = {"python": (PYTHON, "noxfile.py's PYTHON")}
    if environment_file == ENVIRONMENT_FILES["gpu"]:
        runtime = locks.read_lock(REQUIREMENTS / "prod.txt").get("nvidia-cuda-runtime")
        if runtime is not None:  # the CUDA runtime that torch's wheels carry
            cuda = ".".join(runtime.version.split(".")[:2])
            origin = f"{REQUIREMENTS / 'prod.txt'}'s nvidia-cuda-runtime=={runtime.version}"
            wanted["cuda-version"] = (cuda, origin)
    problems = []
    for name, (version, origin) in wanted.items():
        asked, written = specs.get(name, ("", ""))
        if asked != version and not asked.startswith(f"{version}."):
            found = f"asks for `{written}`" if written else f"does not name {name}"
            problems.append(
                f"{environment_file} {found}, but {origin} needs {name} {version}: "
                f"write `{name}={version}`"
            )
    return problems
