"""`nox -s lock` compiles each .in file into its locks; the CPU lock gets torch's CPU build, keeps a
good lock, or falls back to prod.txt's pins, saying which.

The nox session is a stand-in that records the commands and messages; its `uv pip compile` writes
only the CPU lock aside, with the pins a test gives it. torch's CPU index is either a folder of
wheels (TORCH_CPU_FIND_LINKS, never read here) or a port on loopback that nothing answers.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, NoReturn

import pytest

from {{ cookiecutter.package_name }}.infra.machine import locks
from {{ cookiecutter.package_name }}.infra.machine.lock_compiling import (
    compile_locks,
    cpu_lock_to_install,
    with_cpu_lock_moved,
)

PYTHON = "3.11"
OPTIONS = "--python-version=3.11 --generate-hashes --quiet --custom-compile-command=nox -s lock"
LINUX = f"--python-platform=x86_64-manylinux_2_28 {OPTIONS}"
UNREACHABLE = "http://127.0.0.1:9/whl/cpu"
CPU_PINS = "torch==2.8.0+cpu \\\n    --hash=sha256:0\nnumpy==2.1.0 \\\n    --hash=sha256:0\n"
CUBLAS = "nvidia-cublas==13.0.0 \\\n    --hash=sha256:0\n"
CUDA_PINS = f"torch==2.8.0 \\\n    --hash=sha256:0\n{CUBLAS}"


class Stopped(Exception):
    """What `session.error` raises, as nox's does, to stop the session."""


class RecordingSession:
    """Records the commands run (with the folder they ran in) and the messages said."""

    def __init__(self, resolves: str | None = None) -> None:
        self.resolves = resolves  # what `uv pip compile` writes for the CPU lock aside, if anything
        self.folder = Path.cwd()
        self.commands: list[str] = []
        self.said: list[str] = []

    def run(self, *args: str, env: dict[str, str] | None = None) -> object:
        variables = "".join(f"{name}={value} " for name, value in (env or {}).items())
        self.commands.append(f"{self.folder.name}: {variables}{' '.join(args)}")
        output = self.folder / args[args.index("-o") + 1]
        if output.name == "prod-cpu.txt.new" and self.resolves is not None:
            output.write_text(self.resolves)
        return True

    def chdir(self, folder: Path, /) -> AbstractContextManager[object]:
        self.folder = folder
        return nullcontext()

    def log(self, *args: Any) -> None:
        self.said.append(f"log: {' '.join(map(str, args))}")

    def warn(self, *args: Any) -> None:
        self.said.append(f"warn: {' '.join(map(str, args))}")

    def error(self, *args: Any) -> NoReturn:
        raise Stopped(*args)


@pytest.fixture
def requirements(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """requirements/ with prod.in, dev.in and a feature's .in, and a prod.txt that pins CUDA wheels;
    torch's CPU build found in a folder of wheels."""
    folder = tmp_path / "requirements"
    folder.mkdir()
    for name in ("prod.in", "dev.in", "wandb.in"):
        (folder / name).write_text("")
    (folder / "prod.txt").write_text(CUDA_PINS)
    monkeypatch.setenv("TORCH_CPU_FIND_LINKS", "/wheels")
    monkeypatch.delenv("ALLOW_CUDA_WHEELS", raising=False)
    return folder


def unreachable_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TORCH_CPU_FIND_LINKS")
    monkeypatch.setenv("TORCH_CPU_INDEX_URL", UNREACHABLE)


def fallback_lock(requirements: Path) -> Path:
    """A fallback prod-cpu.txt: the mark, then prod.txt's pins."""
    lock = requirements / "prod-cpu.txt"
    lock.write_text(f"{locks.CPU_FALLBACK_MARK} ...\n{CUDA_PINS}")
    return lock


def test_every_in_file_is_compiled_for_linux_then_macos_then_the_cpu_lock(
    requirements: Path,
) -> None:
    session = RecordingSession(resolves=CPU_PINS)
    compile_locks(session, requirements, PYTHON)
    macos = "--python-platform=aarch64-apple-darwin " + " ".join(
        f"--constraint={name}.txt" for name in ("prod", "dev", "wandb")
    )
    assert session.commands == [
        f"requirements: uv pip compile prod.in -o prod.txt {LINUX}",
        f"requirements: uv pip compile dev.in -o dev.txt {LINUX}",
        f"requirements: uv pip compile wandb.in -o wandb.txt {LINUX}",
        "requirements: MACOSX_DEPLOYMENT_TARGET=14.0 uv pip compile prod.in dev.in wandb.in "
        f"-o macos-arm64.txt {macos} {OPTIONS}",
        "requirements: uv pip compile prod.in --constraint=prod.txt -o prod-cpu.txt.new "
        f"{LINUX} --find-links=/wheels",
    ]
    assert (requirements / "prod-cpu.txt").read_text() == CPU_PINS
    assert not (requirements / "prod-cpu.txt.new").exists()
    assert session.said == []


def test_an_upgrade_passes_its_options_to_every_compile(requirements: Path) -> None:
    session = RecordingSession(resolves=CPU_PINS)
    compile_locks(session, requirements, PYTHON, "--upgrade-package=torch")
    assert len(session.commands) == 5
    assert all("--upgrade-package=torch" in command for command in session.commands)


@pytest.mark.parametrize("resolved", [CUDA_PINS, CPU_PINS + CUBLAS], ids=["cuda-torch", "leaked"])
def test_a_cpu_resolution_with_cuda_wheels_keeps_a_good_cpu_lock_and_stops(
    requirements: Path, resolved: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_CPU_INDEX_URL", "https://mirror.example/whl/cpu/")  # named, as used
    (requirements / "prod-cpu.txt").write_text(CPU_PINS)
    with pytest.raises(Stopped) as stopped:
        compile_locks(RecordingSession(resolves=resolved), requirements, PYTHON)
    assert str(stopped.value) == (
        "the CPU lock did not get the CPU build of torch (it would install nvidia-cublas); "
        f"{requirements / 'prod-cpu.txt'} is unchanged. Make https://mirror.example/whl/cpu "
        "reachable, or point TORCH_CPU_FIND_LINKS at a folder holding the torch +cpu wheel"
    )
    assert (requirements / "prod-cpu.txt").read_text() == CPU_PINS
    assert not (requirements / "prod-cpu.txt.new").exists()


def test_an_unreachable_index_makes_the_cpu_lock_the_marked_fallback(
    requirements: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unreachable_index(monkeypatch)
    session = RecordingSession(resolves=CPU_PINS)
    compile_locks(session, requirements, PYTHON)
    cpu_lock = requirements / "prod-cpu.txt"
    assert locks.is_cpu_fallback(cpu_lock)
    assert cpu_lock.read_text().endswith(f"is reachable.\n{CUDA_PINS}")
    assert "torch's CPU build for Python 3.11 could not be resolved" in cpu_lock.read_text()
    assert not any("prod-cpu.txt.new" in command for command in session.commands)
    assert len(session.said) == 1
    assert session.said[0].startswith(
        f"warn: {cpu_lock} falls back to prod.txt's pins: torch's CPU index {UNREACHABLE}/torch/ "
        "cannot be reached ("
    )


def test_a_cpu_lock_that_is_no_fallback_is_installed_as_it_is(requirements: Path) -> None:
    cpu_lock = requirements / "prod-cpu.txt"
    cpu_lock.write_text(CPU_PINS)
    session = RecordingSession()
    assert cpu_lock_to_install(session, cpu_lock, PYTHON) == cpu_lock
    assert session.commands == [] and session.said == []


def test_a_fallback_cpu_lock_is_moved_to_the_cpu_build_before_it_installs(
    requirements: Path,
) -> None:
    cpu_lock = fallback_lock(requirements)
    session = RecordingSession(resolves=CPU_PINS)
    moved = with_cpu_lock_moved(session, [requirements / "prod.txt", cpu_lock], PYTHON)
    assert moved == [requirements / "prod.txt", cpu_lock]
    assert cpu_lock.read_text() == CPU_PINS
    assert session.said[-1] == (
        f"log: {cpu_lock} now pins torch's CPU build and no CUDA packages: commit it"
    )


def test_a_dry_run_plans_with_the_cpu_build_and_leaves_the_fallback(requirements: Path) -> None:
    cpu_lock = fallback_lock(requirements)
    fallback = cpu_lock.read_text()
    session = RecordingSession(resolves=CPU_PINS)
    planned = cpu_lock_to_install(session, cpu_lock, PYTHON, dry_run=True)
    assert planned == requirements / "prod-cpu.txt.new"
    assert planned.read_text() == CPU_PINS and cpu_lock.read_text() == fallback


def test_a_fallback_cpu_lock_stops_where_torchs_cpu_index_is_out_of_reach(
    requirements: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unreachable_index(monkeypatch)
    cpu_lock = fallback_lock(requirements)
    with pytest.raises(Stopped, match=r"which would install PyPI's torch and 1 CUDA packages "):
        cpu_lock_to_install(RecordingSession(), cpu_lock, PYTHON)
    monkeypatch.setenv("ALLOW_CUDA_WHEELS", "1")
    session = RecordingSession()
    assert cpu_lock_to_install(session, cpu_lock, PYTHON) == cpu_lock
    assert session.said == [
        f"warn: {cpu_lock} is the fallback: installing PyPI's torch and 1 CUDA packages "
        "(nvidia-cublas, ...): several GB that a CPU machine does not use (ALLOW_CUDA_WHEELS=1)"
    ]
    assert session.commands == []
