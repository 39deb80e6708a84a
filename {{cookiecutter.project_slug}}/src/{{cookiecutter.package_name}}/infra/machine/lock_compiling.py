"""Compiling requirements/*.in into the locks with `uv pip compile` (`nox -s lock`, `upgrade`), and
the CPU lock's way to torch's CPU build.

prod-cpu.txt holds torch's +cpu build, which only torch's own index carries. Where that index could
not be reached when the locks were compiled, prod-cpu.txt falls back to prod.txt's pins (PyPI's
torch with its CUDA wheels, marked as such), and a CPU install moves it to the +cpu build first.

The functions take the nox session that runs them (typed as `Session`, what they use of it), and
import nox itself only for the error its commands raise. Standard library and packaging otherwise:
the noxfile imports this before the project is installed.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, NoReturn, Protocol

from {{ cookiecutter.package_name }}.infra.machine import locks, torch_index

# The Linux locks resolve for x86_64 (the platform of GPU boxes and CI runners), the macOS lock for
# Apple silicon, on any machine. torch's macOS wheels need macOS 14 or newer.
LINUX_PLATFORM = "x86_64-manylinux_2_28"
MACOS_PLATFORM = "aarch64-apple-darwin"
MACOS_DEPLOYMENT_TARGET = "14.0"


class Session(Protocol):
    """What these functions use of a nox session: running commands in a folder, and saying so."""

    def run(self, *args: str, env: dict[str, str] | None = None) -> object: ...

    def chdir(self, folder: Path, /) -> AbstractContextManager[object]: ...

    def log(self, *args: Any) -> None: ...

    def warn(self, *args: Any) -> None: ...

    def error(self, *args: Any) -> NoReturn: ...


def compile_options(python: str, *upgrade: str) -> list[str]:
    """uv pip compile's options shared by every lock, for Python `python`."""
    return [
        f"--python-version={python}",
        "--generate-hashes",
        "--quiet",
        "--custom-compile-command=nox -s lock",
        *upgrade,
    ]


def compile_locks(session: Session, requirements: Path, python: str, *upgrade: str) -> None:
    """Compile every .in file in `requirements` into its locks: the Linux ones, the macOS one, the
    CPU one. `upgrade`: uv's options that move pins to newer releases."""
    common = compile_options(python, *upgrade)
    linux = [f"--python-platform={LINUX_PLATFORM}", *common]
    sources = locks.source_files(requirements)
    with session.chdir(requirements):
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
    compile_cpu_lock(session, requirements, python, linux)


def cpu_lock_candidate(requirements: Path) -> Path:
    """Where a CPU lock is resolved, aside, before it may replace prod-cpu.txt."""
    return requirements / f"{locks.CPU_LOCK}.new"


def resolve_cpu_lock(
    session: Session, requirements: Path, options: list[str]
) -> tuple[Path | None, str]:
    """prod.txt's pins with torch's CPU build, written aside (cpu_lock_candidate): its path, or None
    and why it could not be resolved (the index out of reach, no CPU wheel for this Python)."""
    from nox.command import CommandFailed  # what session.run raises; nox alone calls this

    candidate = cpu_lock_candidate(requirements)
    try:
        torch_index.check_reachable()
        with session.chdir(requirements):
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
        leaked = [name for name in locks.read_lock(candidate) if torch_index.is_cuda_only(name)]
        if "+cpu " in cpu_pins and not leaked:
            return candidate, ""
        reason = f"it would install {', '.join(leaked) or 'the CUDA build'}"
    except (torch_index.UnreachableIndex, CommandFailed) as error:
        reason = str(error) or "the resolution failed"
    candidate.unlink(missing_ok=True)
    return None, reason


def compile_cpu_lock(session: Session, requirements: Path, python: str, options: list[str]) -> None:
    """prod-cpu.txt: prod.txt's pins with torch's CPU build, which needs no CUDA wheels.

    Compiled last, where the CPU wheels may be out of reach, and written aside first, so a failed
    CPU resolution never replaces a good lock. Where the CPU build cannot be resolved and there is no
    good CPU lock, the lock falls back to prod.txt's pins (PyPI's torch runs on a CPU too), marked so.
    """
    cpu_lock = requirements / locks.CPU_LOCK
    candidate, reason = resolve_cpu_lock(session, requirements, options)
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
        f"{locks.CPU_FALLBACK_MARK} torch's CPU build for Python {python} could not be resolved\n"
        "# when this lock was compiled, so it pins what prod.txt pins: PyPI's torch, which carries\n"
        "# CUDA libraries (several GB) and runs on a CPU too. `nox -s lock` moves it to the +cpu build\n"
        "# wherever torch's CPU index (or TORCH_CPU_FIND_LINKS) is reachable.\n"
        + (requirements / "prod.txt").read_text()
    )
    session.warn(f"{cpu_lock} falls back to prod.txt's pins: {reason}")


def cpu_lock_to_install(
    session: Session, cpu_lock: Path, python: str, *, dry_run: bool = False
) -> Path:
    """`cpu_lock` (prod-cpu.txt), moved first to torch's CPU build where it is the fallback (PyPI's
    torch and its CUDA wheels, gigabytes a CPU machine does not need) and that build can be resolved
    here.

    The move is `nox -s lock`'s own, and is said; a dry run resolves aside and returns that file
    instead, for its plan. With torch's CPU index out of reach, the install stops, saying what it
    would download, unless ALLOW_CUDA_WHEELS=1 asks for it anyway.
    """
    if not locks.is_cpu_fallback(cpu_lock):
        return cpu_lock
    cuda = sorted(name for name in locks.read_lock(cpu_lock) if torch_index.is_cuda_only(name))
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
    options = [f"--python-platform={LINUX_PLATFORM}", *compile_options(python)]
    candidate, reason = resolve_cpu_lock(session, cpu_lock.parent, options)
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


def with_cpu_lock_moved(
    session: Session, lock_files: list[Path], python: str, *, dry_run: bool = False
) -> list[Path]:
    """`lock_files`, with a fallback prod-cpu.txt moved to torch's CPU build (cpu_lock_to_install)."""
    return [
        (
            cpu_lock_to_install(session, lock, python, dry_run=dry_run)
            if lock.name == locks.CPU_LOCK
            else lock
        )
        for lock in lock_files
    ]
