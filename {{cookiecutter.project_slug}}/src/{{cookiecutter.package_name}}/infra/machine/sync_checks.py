"""Whether `nox -s sync` may install a target's locks into a Python: one the machine and the version
fit, and an environment of the project's own, since a sync removes every package the locks do not
name. The interpreter is asked (it may be another one than the Python running nox).

Standard library and packaging only: the noxfile imports this before the project is installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from {{ cookiecutter.package_name }}.infra.machine import locks
from {{ cookiecutter.package_name }}.infra.machine.environment_files import ENVIRONMENT_FILES

LOCK_GLIBC = (2, 28)  # the manylinux_2_28 wheels of the Linux locks need glibc 2.28 or newer
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


def machine_target() -> str:
    """'macos' on Apple silicon, 'gpu' where an NVIDIA driver is installed, else 'cpu'."""
    if sys.platform == "darwin":
        return "macos"
    return "gpu" if shutil.which("nvidia-smi") else "cpu"


def interpreter_says(python: str, probe: str) -> str:
    """What `python` prints running one of the probes above."""
    return subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True).stdout


def machine_problem(
    python: str, target: str, python_version: str, requirements: Path
) -> str | None:
    """Why `target`'s locks (in `requirements`, for Python `python_version`) cannot install into
    `python`'s environment, or None if they can."""
    system, machine, version, libc, libc_version = interpreter_says(python, PROBE).split()
    if system in ("win32", "cygwin"):
        return (
            "Windows is not a target of these locks: work in WSL2 (Ubuntu on Windows), where the "
            "Linux locks install, with or without a GPU (docs: README.md, `Set up`)"
        )
    if target == "macos":
        needs = (
            f"{locks.MACOS_LOCK} installs on macOS on Apple silicon with Python {python_version}"
        )
        if (system, machine) != ("darwin", "arm64"):
            return f"this machine ({system} {machine}) is not a Mac on Apple silicon: {needs}"
    else:
        needs = (
            f"the locks in {requirements}/ for the {target} target install on Linux x86_64 with "
            f"glibc {'.'.join(map(str, LOCK_GLIBC))} or newer and Python {python_version}"
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
    if version != python_version:
        return (
            f"{python} is Python {version}, but {needs}: activate the project's conda environment "
            f"(`conda env create -f {ENVIRONMENT_FILES[target]}` makes it), or a virtualenv of "
            f"Python {python_version}"
        )
    return None


def environment_problem(python: str, project: str) -> str | None:
    """Why `python` is not an environment a sync may rewrite, or None if it is one.

    A sync removes every package the locks do not name: in a Python that is not the project's own
    environment (a system, pyenv or Homebrew Python, conda's base) that wipes the user's packages.
    `project` names the conda environment to activate instead.
    """
    kind = json.loads(interpreter_says(python, ENVIRONMENT_PROBE))
    if kind["venv"] or (kind["conda"] and not kind["conda_base"]):
        return None
    what = "conda's base environment" if kind["conda"] else "not a virtualenv or conda environment"
    return (
        f"refusing to sync {python}: it is {what}, and a sync removes every package the locks do "
        f"not name. Activate the project's environment (`conda activate {project}`, or "
        "`python -m venv .venv && . .venv/bin/activate`), then sync again"
    )


def installer_beside(python: str, name: str) -> str | None:
    """`name` from the environment of `python`, else from PATH."""
    beside = Path(python).parent / name
    return str(beside) if beside.is_file() else shutil.which(name)
