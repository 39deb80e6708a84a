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

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nox
from nox.command import CommandFailed
from packaging.utils import canonicalize_name

# The rules for locks live in the package, where `doctor` applies them too. They are read from src/
# because `sync` runs before the package is installed.
sys.path.insert(0, str(Path(__file__).parent / "src"))
from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal  # noqa: E402
from {{ cookiecutter.package_name }}.infra.machine import locks, torch_index  # noqa: E402
from {{ cookiecutter.package_name }}.infra.tools import examples  # noqa: E402

PYTHON = "{{ cookiecutter.python_version }}"
PROJECT = "{{ cookiecutter.project_slug }}"
REQUIREMENTS = Path("requirements")
ENVIRONMENT_FILES = {
    "gpu": Path("environment.yml"),
    "cpu": Path("environment-cpu.yml"),
    "macos": Path("environment-cpu.yml"),
}
# The Linux locks resolve for x86_64 (the platform of GPU boxes and CI runners), the macOS lock for
# Apple silicon, on any machine. torch's macOS wheels need macOS 14 or newer.
LINUX_PLATFORM = "x86_64-manylinux_2_28"
MACOS_PLATFORM = "aarch64-apple-darwin"
MACOS_DEPLOYMENT_TARGET = "14.0"
LOCK_GLIBC = (2, 28)  # the manylinux_2_28 wheels need glibc 2.28 or newer
# What an interpreter says about itself: platform, machine, Python version, C library and version.
PROBE = (
    "import platform, sys; "
    "print(sys.platform, platform.machine(), '%d.%d' % sys.version_info[:2], "
    "*(part or 'unknown' for part in platform.libc_ver()))"
)
# Whether an interpreter is an environment of its own: a virtualenv, or a conda environment; conda's
# `base` holds conda itself (the `conda` package, an envs/ folder).
ENVIRONMENT_PROBE = (
    "import glob, json, os, sys; p = sys.prefix; print(json.dumps({"
    "'venv': p != sys.base_prefix, 'conda': os.path.isdir(os.path.join(p, 'conda-meta')), "
    "'conda_base': bool(glob.glob(os.path.join(p, 'conda-meta', 'conda-[0-9]*.json'))) "
    "or os.path.isdir(os.path.join(p, 'envs')) or (os.environ.get('CONDA_PREFIX') == p "
    "and os.environ.get('CONDA_DEFAULT_ENV') == 'base')}))"
)
INSTALLED_PROBE = (
    "import json, importlib.metadata as m; "
    "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
)
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


def machine_target() -> str:
    """'macos' on Apple silicon, 'gpu' where an NVIDIA driver is installed, else 'cpu'."""
    if sys.platform == "darwin":
        return "macos"
    return "gpu" if shutil.which("nvidia-smi") else "cpu"


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


def lock_names(target: str) -> str:
    return {
        "gpu": "prod.txt and the Linux locks",
        "cpu": "prod-cpu.txt and the Linux locks",
        "macos": locks.MACOS_LOCK,
    }[target]


def interpreter_says(python: str, probe: str) -> str:
    """What `python` prints running one of the probes above."""
    return subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True).stdout


def machine_problem(python: str, target: str) -> str | None:
    """Why `target`'s locks cannot install into `python`'s environment, or None if they can."""
    system, machine, version, libc, libc_version = interpreter_says(python, PROBE).split()
    if system in ("win32", "cygwin"):
        return (
            "Windows is not a target of these locks: work in WSL2 (Ubuntu on Windows), where the "
            "Linux locks install, with or without a GPU (docs: README.md, `Set up`)"
        )
    if target == "macos":
        needs = f"{locks.MACOS_LOCK} installs on macOS on Apple silicon with Python {PYTHON}"
        if (system, machine) != ("darwin", "arm64"):
            return f"this machine ({system} {machine}) is not a Mac on Apple silicon: {needs}"
    else:
        needs = (
            f"the locks in {REQUIREMENTS}/ for the {target} target install on Linux x86_64 with "
            f"glibc {'.'.join(map(str, LOCK_GLIBC))} or newer and Python {PYTHON}"
        )
        if (system, machine) == ("darwin", "arm64"):
            return f"this Mac takes the macos target ({locks.MACOS_LOCK}): `nox -s sync -- macos`"
        if (system, machine) != ("linux", "x86_64"):
            return (
                f"this machine ({system} {machine}) matches no target: {needs}. Work on such a "
                "machine (a GPU box, a CI runner, a Linux container), or install unlocked: "
                "pip install -e ."
            )
        glibc = tuple(int(part) for part in libc_version.split(".")[:2] if part.isdigit())
        if libc != "glibc" or glibc < LOCK_GLIBC:
            return f"this machine's C library is {libc} {libc_version}, so it matches no target: {needs}"
    if version != PYTHON:
        return (
            f"{python} is Python {version}, but {needs}: activate the project's conda environment "
            f"(`conda env create -f {ENVIRONMENT_FILES[target]}` makes it), or a virtualenv of "
            f"Python {PYTHON}"
        )
    return None


def environment_problem(python: str) -> str | None:
    """Why `python` is not an environment a sync may rewrite, or None if it is one.

    A sync removes every package the locks do not name: in a Python that is not the project's own
    environment (a system, pyenv or Homebrew Python, conda's base) that wipes the user's packages.
    """
    kind = json.loads(interpreter_says(python, ENVIRONMENT_PROBE))
    if kind["venv"] or (kind["conda"] and not kind["conda_base"]):
        return None
    what = "conda's base environment" if kind["conda"] else "not a virtualenv or conda environment"
    return (
        f"refusing to sync {python}: it is {what}, and a sync removes every package the locks do "
        f"not name. Activate the project's environment (`conda activate {PROJECT}`, or "
        "`python -m venv .venv && . .venv/bin/activate`), then sync again"
    )


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


def with_cpu_lock_moved(
    session: nox.Session, lock_files: list[Path], *, dry_run: bool = False
) -> list[Path]:
    """`lock_files`, with a fallback prod-cpu.txt moved to torch's CPU build (cpu_lock_to_install)."""
    return [
        cpu_lock_to_install(session, dry_run=dry_run) if lock.name == "prod-cpu.txt" else lock
        for lock in lock_files
    ]


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
    problem = machine_problem(str(Path(session.bin) / "python"), target)
    if problem:
        session.error(problem)
    lock_files = with_cpu_lock_moved(session, checked_locks(session, target))
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


def compile_options(*upgrade: str) -> list[str]:
    """uv pip compile's options shared by every lock."""
    return [
        f"--python-version={PYTHON}",
        "--generate-hashes",
        "--quiet",
        "--custom-compile-command=nox -s lock",
        *upgrade,
    ]


def compile_locks(session: nox.Session, *upgrade: str) -> None:
    common = compile_options(*upgrade)
    linux = [f"--python-platform={LINUX_PLATFORM}", *common]
    sources = locks.source_files(REQUIREMENTS)
    with session.chdir(REQUIREMENTS):
        for source in sources:  # prod.in first: the others are constrained by prod.txt
            output = f"{source.removesuffix('.in')}.txt"
            session.run("uv", "pip", "compile", source, "-o", output, *linux)
        # Every .in together, for Apple silicon, held to the Linux locks' pins where they overlap.
        linux_locks = [f"--constraint={source.removesuffix('.in')}.txt" for source in sources]
        macos = [f"--python-platform={MACOS_PLATFORM}", *linux_locks, *common]
        session.run(
            "uv",
            "pip",
            "compile",
            *sources,
            "-o",
            locks.MACOS_LOCK,
            *macos,
            env={"MACOSX_DEPLOYMENT_TARGET": MACOS_DEPLOYMENT_TARGET},
        )
    compile_cpu_lock(session, linux)


def resolve_cpu_lock(session: nox.Session, options: list[str]) -> tuple[Path | None, str]:
    """prod.txt's pins with torch's CPU build, written aside (prod-cpu.txt.new): its path, or None
    and why it could not be resolved (the index out of reach, no CPU wheel for this Python)."""
    candidate = REQUIREMENTS / "prod-cpu.txt.new"
    try:
        torch_index.check_reachable()
        with session.chdir(REQUIREMENTS):
            session.run(
                "uv",
                "pip",
                "compile",
                "prod.in",
                "--constraint=prod.txt",
                "-o",
                candidate.name,
                *options,
                *torch_index.source_arguments("uv"),
            )
        if not candidate.is_file():
            raise CommandFailed("uv wrote no lock")
        cpu_pins = candidate.read_text()
        leaked = [name for name in locks.read_lock(candidate) if locks.is_cuda_only(name)]
        if "+cpu " in cpu_pins and not leaked:
            return candidate, ""
        reason = f"it would install {', '.join(leaked) or 'the CUDA build'}"
    except (torch_index.UnreachableIndex, CommandFailed) as error:
        reason = str(error) or "the resolution failed"
    candidate.unlink(missing_ok=True)
    return None, reason


def compile_cpu_lock(session: nox.Session, options: list[str]) -> None:
    """prod-cpu.txt: prod.txt's pins with torch's CPU build, which needs no CUDA wheels.

    Compiled last, where the CPU wheels may be out of reach, and written aside first, so a failed
    CPU resolution never replaces a good lock. Where the CPU build cannot be resolved and there is no
    good CPU lock, the lock falls back to prod.txt's pins (PyPI's torch runs on a CPU too), marked so.
    """
    cpu_lock = REQUIREMENTS / "prod-cpu.txt"
    candidate, reason = resolve_cpu_lock(session, options)
    if candidate is not None:
        candidate.replace(cpu_lock)
        return
    if cpu_lock.exists() and not locks.is_cpu_fallback(cpu_lock):
        session.error(
            f"the CPU lock did not get the CPU build of torch ({reason}); {cpu_lock} is "
            f"unchanged. Make {torch_index.index_url()} reachable, or point TORCH_CPU_FIND_LINKS "
            "at a folder holding the torch +cpu wheel"
        )
    cpu_lock.write_text(
        f"{locks.CPU_FALLBACK_MARK} torch's CPU build for Python {PYTHON} could not be resolved\n"
        "# when this lock was compiled, so it pins what prod.txt pins: PyPI's torch, which carries\n"
        "# CUDA libraries (several GB) and runs on a CPU too. `nox -s lock` moves it to the +cpu build\n"
        "# wherever torch's CPU index (or TORCH_CPU_FIND_LINKS) is reachable.\n"
        + (REQUIREMENTS / "prod.txt").read_text()
    )
    session.warn(f"{cpu_lock} falls back to prod.txt's pins: {reason}")


def cpu_lock_to_install(session: nox.Session, *, dry_run: bool = False) -> Path:
    """prod-cpu.txt, moved first to torch's CPU build where it is the fallback (PyPI's torch and its
    CUDA wheels, gigabytes a CPU machine does not need) and that build can be resolved here.

    The move is `nox -s lock`'s own, and is said; a dry run resolves aside and returns that file
    instead, for its plan. With torch's CPU index out of reach, the install stops, saying what it
    would download, unless ALLOW_CUDA_WHEELS=1 asks for it anyway.
    """
    cpu_lock = REQUIREMENTS / "prod-cpu.txt"
    if not locks.is_cpu_fallback(cpu_lock):
        return cpu_lock
    cuda = sorted(name for name in locks.read_lock(cpu_lock) if locks.is_cuda_only(name))
    downloads = (
        f"PyPI's torch and {len(cuda)} CUDA packages ({', '.join(cuda[:2])}, ...): several GB "
        "that a CPU machine does not use"
    )
    try:
        torch_index.check_reachable()
    except torch_index.UnreachableIndex as error:
        if os.environ.get("ALLOW_CUDA_WHEELS") == "1":
            session.warn(
                f"{cpu_lock} is the fallback: installing {downloads} (ALLOW_CUDA_WHEELS=1)"
            )
            return cpu_lock
        session.error(
            f"{cpu_lock} is the fallback lock, which would install {downloads}; moving it to "
            f"torch's CPU build needs torch's CPU index: {error}. Or set ALLOW_CUDA_WHEELS=1 to "
            "install the CUDA build anyway"
        )
    session.log(
        f"{cpu_lock} is the fallback lock ({downloads}): moving it to torch's CPU build from "
        f"{os.environ.get('TORCH_CPU_FIND_LINKS') or torch_index.index_url()} first, as "
        "`nox -s lock` does (uv resolves prod.in, about 10-30 s)"
    )
    candidate, reason = resolve_cpu_lock(
        session, [f"--python-platform={LINUX_PLATFORM}", *compile_options()]
    )
    if candidate is None:
        session.warn(f"torch's CPU build could not be resolved ({reason}): installing {downloads}")
        return cpu_lock
    if dry_run:
        session.log(
            f"a sync would first rewrite {cpu_lock} with torch's CPU build; planned with it"
        )
        return candidate
    candidate.replace(cpu_lock)
    session.log(f"{cpu_lock} now pins torch's CPU build and no CUDA packages: commit it")
    return cpu_lock


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
    """Make the current environment match the locks exactly: `-- gpu|cpu|macos`, else detected.

    The environment is that of the `python` first on PATH: a virtualenv or a conda environment other
    than base, never a system Python (`--system-python` allows a CI runner's). `--dry-run` says what
    would change and changes nothing.
    """
    target, flags = chosen_target(session, tuple(SYNC_FLAGS))
    python = shutil.which("python")
    if python is None:
        session.error("`python` is not on PATH: activate the project's environment first")
    problem = machine_problem(python, target)
    if problem is None and "--system-python" not in flags:
        problem = environment_problem(python)
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
    lock_files = with_cpu_lock_moved(session, lock_files, dry_run=dry_run)
    source = torch_source(session, lock_files, "uv" if uv else "pip")
    say_what_changes(session, python, lock_files, every_name=dry_run)
    if dry_run:
        (REQUIREMENTS / "prod-cpu.txt.new").unlink(missing_ok=True)
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


def installer_beside(python: str, name: str) -> str | None:
    """`name` from the environment of `python`, else from PATH."""
    beside = Path(python).parent / name
    return str(beside) if beside.is_file() else shutil.which(name)


def say_what_changes(
    session: nox.Session, python: str, lock_files: list[Path], every_name: bool = False
) -> None:
    """Log how many packages the sync removes, installs and changes, naming them when few (or
    always, for a dry run)."""
    installed: dict[str, str] = {
        canonicalize_name(name): version
        for name, version in json.loads(interpreter_says(python, INSTALLED_PROBE)).items()
    }
    pinned = {
        name: pin.version for lock in lock_files for name, pin in locks.read_lock(lock).items()
    }
    kept = {canonicalize_name(PROJECT), "pip", "setuptools", "wheel", "pip-tools"}
    changes: dict[str, list[str]] = {
        "remove": sorted(set(installed) - set(pinned) - kept),
        "install": sorted(set(pinned) - set(installed)),
        "change": sorted(
            name for name in set(pinned) & set(installed) if installed[name] != pinned[name]
        ),
    }
    for verb, names in changes.items():
        listed = f": {', '.join(names)}" if names and (every_name or len(names) <= 20) else ""
        session.log(f"sync will {verb} {len(names)} packages in {python}{listed}")


@nox.session(venv_backend="none")
def env(session: nox.Session) -> None:
    """Create or update the conda environment: `-- gpu` (environment.yml) or `-- cpu`, else detected.

    The file is checked first: it parses, and its Python and CUDA versions are those of the locks.
    """
    environment_file = ENVIRONMENT_FILES[chosen_target(session)[0]]
    problems = environment_problems(environment_file)
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
