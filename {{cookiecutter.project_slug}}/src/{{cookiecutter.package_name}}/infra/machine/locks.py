"""The locks in requirements/: what they pin, whether they are in step with their .in files, and
whether the installed packages match them. The nox sessions and `doctor` apply these same rules.

Each `X.in` compiles into `X.txt` for Linux x86_64; `prod.in` also into `prod-cpu.txt` (the same pins
with the CPU build of torch and without CUDA wheels); all `.in` files together into `macos-arm64.txt`
(macOS on Apple silicon, whose torch from PyPI runs on MPS). Every message names the file and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed_version
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal
from {{ cookiecutter.package_name }}.infra.machine.torch_index import is_cuda_only

# Linux x86_64 with a CUDA GPU, Linux x86_64 without one, macOS on Apple silicon.
TARGETS = ("gpu", "cpu", "macos")
MACOS_LOCK = "macos-arm64.txt"
CPU_LOCK = "prod-cpu.txt"  # prod.in with torch's CPU build
RELOCK = "run `nox -s lock` to recompile it"
# The first line of a CPU lock that holds PyPI's torch because the +cpu build could not be resolved
# when it was compiled (see lock_compiling.py); such a lock pins exactly what prod.txt pins.
CPU_FALLBACK_MARK = "# CPU lock fallback:"
# The platforms the locks resolve for (lock_compiling.py's LINUX_PLATFORM and MACOS_PLATFORM); markers
# are read for them.
LINUX_MARKERS = {
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}
MACOS_MARKERS = {
    **LINUX_MARKERS,
    "sys_platform": "darwin",
    "platform_system": "Darwin",
    "platform_machine": "arm64",
}
PIN = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(?P<version>[^\s;\\]+)")


@dataclass(frozen=True)
class Pin:
    """One `name==version` entry of a lock, with its hashes and what it was pinned for (`# via`)."""

    name: str
    version: str
    hashes: int
    via: tuple[str, ...]


@dataclass(frozen=True)
class Difference:
    """A locked package that is missing here or installed at another version."""

    name: str
    installed: str | None
    locked: str
    lock: str


def read_text(path: Path) -> str:
    """The text of a lock or .in file; Refusal naming the first byte that is not UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise Refusal(
            f"{path} is not UTF-8 text (byte {error.object[error.start]:#04x} at offset "
            f"{error.start}): {RELOCK}"
        ) from None


def read_lock(path: Path) -> dict[str, Pin]:
    """The pins of a compiled lock, by canonical package name."""
    pins: dict[str, Pin] = {}
    name = ""
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        stripped = line.strip()
        match = PIN.match(line)
        if match:
            name = canonicalize_name(match["name"])
            try:
                Version(match["version"])
            except InvalidVersion:
                raise Refusal(
                    f"{path}:{number}: {match['name']}=={match['version']} pins no valid "
                    f"version: {RELOCK}"
                ) from None
            pins[name] = Pin(name, match["version"], 0, ())
        elif name and stripped.startswith("--hash="):
            pin = pins[name]
            pins[name] = Pin(name, pin.version, pin.hashes + 1, pin.via)
        elif name and stripped.startswith("#"):
            entry = re.sub(r"^via\b", "", stripped.lstrip("#").strip()).strip()
            if entry:
                pin = pins[name]
                pins[name] = Pin(name, pin.version, pin.hashes, (*pin.via, entry))
    return pins


def read_source(
    path: Path, python: str, markers: dict[str, str] = LINUX_MARKERS
) -> tuple[list[Requirement], list[str]]:
    """The requirements that apply on a lock's platform, and the constraint files, of a .in file.

    `-r other.in` lines are followed; `python` is the Python version the locks are compiled for.
    """
    environment = {**markers, "python_version": python}
    requirements: list[Requirement] = []
    constraints: list[str] = []
    for number, raw in enumerate(read_text(path).splitlines(), start=1):
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        option, _, value = line.partition(" ")
        if option in ("-c", "--constraint"):
            constraints.append(value.strip())
        elif option in ("-r", "--requirement"):
            requirements += read_source(path.parent / value.strip(), python, markers)[0]
        elif not line.startswith("-"):
            try:
                requirement = Requirement(line)
            except InvalidRequirement as error:
                raise Refusal(f"{path}:{number}: {line!r} is not a requirement ({error})") from None
            if requirement.marker is None or requirement.marker.evaluate(environment):
                requirements.append(requirement)
    return requirements, constraints


def source_files(requirements: Path) -> list[str]:
    """The .in files: prod.in, dev.in, then each optional feature's (such as the logger's)."""
    names = [source.name for source in sorted(requirements.glob("*.in"))]
    first = [name for name in ("prod.in", "dev.in") if name in names]
    return first + [name for name in names if name not in first]


def sources(requirements: Path) -> dict[str, tuple[str, ...]]:
    """Each lock file name mapped to the .in files it is compiled from."""
    names = source_files(requirements)
    mapping: dict[str, tuple[str, ...]] = {
        f"{name.removesuffix('.in')}.txt": (name,) for name in names
    }
    if "prod.in" in names:
        mapping[CPU_LOCK] = ("prod.in",)
        mapping[MACOS_LOCK] = tuple(names)
    return mapping


def marker_environment(lock: str) -> dict[str, str]:
    """The environment markers of the platform `lock` is compiled for."""
    return MACOS_MARKERS if lock == MACOS_LOCK else LINUX_MARKERS


def feature_locks(requirements: Path) -> list[Path]:
    """The Linux lock of every optional feature (such as the logger), constrained by prod.txt."""
    return [
        requirements / f"{name.removesuffix('.in')}.txt"
        for name in source_files(requirements)
        if name not in ("prod.in", "dev.in")
    ]


def locks_for(requirements: Path, target: str) -> list[Path]:
    """The locks that together make an environment for `target` (one of TARGETS)."""
    if target not in TARGETS:
        raise Refusal(f"unknown target {target!r}: use one of {', '.join(TARGETS)}")
    if target == "macos":
        chosen = [requirements / MACOS_LOCK]
    else:
        prod = "prod.txt" if target == "gpu" else CPU_LOCK
        chosen = [requirements / prod, requirements / "dev.txt", *feature_locks(requirements)]
    missing = [str(lock) for lock in chosen if not lock.exists()]
    if missing:
        raise Refusal(
            f"missing lock {', '.join(missing)} (needed for the {target} target): "
            "run `nox -s lock` to compile it"
        )
    return chosen


def out_of_step(requirements: Path, python: str) -> list[str]:
    """One message per way a lock disagrees with its .in file or with the locks it must agree with.

    Checked: every requirement of each .in is pinned in the lock at a version it allows; every pin
    made for the .in (`# via -r X.in`) is still asked for there; every pin carries a hash; `-c` files
    hold (shared packages pinned alike); prod-cpu.txt is prod.txt without CUDA wheels (or, marked as
    a fallback, exactly prod.txt); the locks of a target agree with each other, and macos-arm64.txt
    with the Linux locks.
    """
    problems: list[str] = []
    pins = {lock.name: read_lock(lock) for lock in sorted(requirements.glob("*.txt"))}
    for lock, lock_sources in sources(requirements).items():
        if lock not in pins:
            continue  # a missing lock is reported when a target needs it
        locked = pins[lock]
        path = requirements / lock
        for source in lock_sources:
            wanted, constraints = read_source(
                requirements / source, python, marker_environment(lock)
            )
            problems += _unmet(path, source, wanted, locked)
            problems += _no_longer_wanted(
                path, source, {canonicalize_name(r.name) for r in wanted}, locked
            )
            for constraint in constraints:
                if constraint in pins:
                    problems += _disagreements(
                        path, requirements / constraint, locked, pins[constraint]
                    )
        unhashed = sorted(name for name, pin in locked.items() if pin.hashes == 0)
        if unhashed:
            problems.append(f"{path} pins {', '.join(unhashed)} without a hash: {RELOCK}")
    if CPU_LOCK in pins and "prod.txt" in pins:
        problems += _cpu_lock_problems(requirements, pins["prod.txt"], pins[CPU_LOCK])
    if MACOS_LOCK in pins:
        for lock in sorted(pins.keys() - {MACOS_LOCK}):
            problems += _disagreements(
                requirements / MACOS_LOCK, requirements / lock, pins[MACOS_LOCK], pins[lock]
            )
    for target in TARGETS:
        try:
            together = [lock.name for lock in locks_for(requirements, target)]
        except Refusal:
            continue  # reported when that target is installed
        for index, first in enumerate(together):
            for second in together[index + 1 :]:
                problems += _disagreements(
                    requirements / second, requirements / first, pins[second], pins[first]
                )
    return list(dict.fromkeys(problems))  # a conflict found twice is reported once


def _unmet(path: Path, source: str, wanted: list[Requirement], locked: dict[str, Pin]) -> list[str]:
    problems = []
    for requirement in wanted:
        pin = locked.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(
                f"{path} does not pin {requirement.name}, which {source} asks for: {RELOCK}"
            )
        elif not requirement.specifier.contains(pin.version, prereleases=True):
            problems.append(
                f"{path} pins {pin.name}=={pin.version}, but {source} asks for {requirement}: {RELOCK}"
            )
    return problems


def _no_longer_wanted(
    path: Path, source: str, wanted: set[str], locked: dict[str, Pin]
) -> list[str]:
    return [
        f"{path} pins {name} for {source}, which no longer asks for it: {RELOCK}"
        for name, pin in sorted(locked.items())
        if f"-r {source}" in pin.via and name not in wanted
    ]


def _disagreements(
    path: Path, other: Path, locked: dict[str, Pin], other_locked: dict[str, Pin]
) -> list[str]:
    """Packages that both locks pin, at different versions (torch's +cpu label aside)."""
    return [
        f"{path} pins {name}=={locked[name].version} but {other} pins "
        f"{name}=={other_locked[name].version}: {RELOCK}"
        for name in sorted(locked.keys() & other_locked.keys())
        if Version(locked[name].version).public != Version(other_locked[name].version).public
    ]


def is_cpu_fallback(lock: Path) -> bool:
    """Whether `lock` is a CPU lock that holds PyPI's torch (see CPU_FALLBACK_MARK)."""
    return lock.exists() and read_text(lock).startswith(CPU_FALLBACK_MARK)


def _cpu_lock_problems(requirements: Path, gpu: dict[str, Pin], cpu: dict[str, Pin]) -> list[str]:
    path = requirements / CPU_LOCK
    if is_cpu_fallback(path):
        differing = sorted(
            name
            for name in gpu.keys() | cpu.keys()
            if name not in gpu or name not in cpu or gpu[name].version != cpu[name].version
        )
        return (
            [f"{path} (a fallback) differs from prod.txt in {', '.join(differing)}: {RELOCK}"]
            if differing
            else []
        )
    problems = []
    cuda_only = sorted(name for name in cpu if is_cuda_only(name))
    if cuda_only:
        problems.append(f"{path} holds CUDA wheels ({', '.join(cuda_only)}): {RELOCK}")
    torch = cpu.get("torch")
    if torch is not None and Version(torch.version).local != "cpu":
        problems.append(f"{path} pins torch=={torch.version}, not a +cpu build: {RELOCK}")
    expected = {name for name in gpu if not is_cuda_only(name)}
    for name in sorted(expected - cpu.keys()):
        problems.append(f"{path} lacks {name}, which {requirements / 'prod.txt'} pins: {RELOCK}")
    for name in sorted(cpu.keys() - gpu.keys() - set(cuda_only)):
        problems.append(f"{path} pins {name}, which {requirements / 'prod.txt'} lacks: {RELOCK}")
    return problems


def installed_differences(lock_files: Iterable[Path]) -> tuple[int, list[Difference]]:
    """How many packages the locks pin, and those installed here at another version or not at all."""
    seen: set[str] = set()
    differences = []
    for lock in lock_files:
        for name, pin in read_lock(lock).items():
            if name in seen:
                continue  # a package in two locks: they agree, or out_of_step says so
            seen.add(name)
            try:
                installed: str | None = installed_version(name)
            except PackageNotFoundError:
                installed = None
            if installed is None or Version(installed) != Version(pin.version):
                differences.append(Difference(name, installed, pin.version, lock.name))
    return len(seen), differences
