"""A shared GPU box: runs take the least-used free GPUs, hold them with locks every user sees, and
wait or stop when none is free (machine/shared_gpus.py).

NVML is a stand-in (fake_pynvml.py: a box of GPUs described in a file); the locks are real lock
files in a folder of the test's own, held by real processes (gpu_taker.py) and released by the
kernel when one is killed.
"""

from __future__ import annotations

import getpass
import importlib.util
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Any

import pytest
import torch
from conftest import Refused, write_locks
from fake_pynvml import BOX_VARIABLE

from {{ cookiecutter.package_name }}.infra.cli import main
from {{ cookiecutter.package_name }}.infra.machine import shared_gpus

# Before the tests run commands of Lightning in this process, as the command line imports it: its
# log handlers then write to the real stderr, not to one test's captured stream.
from {{ cookiecutter.package_name }}.infra.training.lightning_cli import build  # noqa: F401

TESTS = Path(__file__).resolve().parent
GIB = 2**30
USER = getpass.getuser()
# Generous: a process of the taker starts in a fraction of a second, on a loaded machine in seconds.
PATIENCE = 120


def gpu(index: int, used_gib: float = 0.0, processes: tuple[int, ...] = ()) -> dict[str, Any]:
    """A GPU of the stand-in box: 80 GiB, `used_gib` of them in use."""
    return {
        "uuid": uuid(index),
        "name": "Stand-in H100",
        "memory_used": int(used_gib * GIB),
        "memory_total": 80 * GIB,
        "utilisation": 0,
        "processes": list(processes),
    }


def uuid(index: int) -> str:
    return f"GPU-0000000{index}-fake"


class Taker:
    """A process of gpu_taker.py, its output and errors read line by line as they come."""

    def __init__(self, count: int, when_busy: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(TESTS / "gpu_taker.py"), str(count), when_busy],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        self.readers = [
            threading.Thread(target=self._read, args=(stream, lines), daemon=True)
            for stream, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err))
        ]
        for reader in self.readers:
            reader.start()

    @staticmethod
    def _read(stream: IO[str] | None, lines: queue.Queue[str]) -> None:
        for line in stream or []:
            lines.put(line.rstrip("\n"))

    def holds(self) -> str | None:
        """CUDA_VISIBLE_DEVICES once the process holds its GPUs; None if it ends instead."""
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            try:
                line = self.out.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None and not self.readers[0].is_alive():
                    return None
                continue
            if line.startswith("GPU-"):
                return line
        raise AssertionError(f"no GPU taken in {PATIENCE} s")

    def refusal(self) -> list[str]:
        """What it printed to stderr, once it exited with status 2."""
        assert self.process.wait(timeout=PATIENCE) == 2
        self.readers[1].join(timeout=PATIENCE)
        return list(self.err.queue)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=PATIENCE)


class Box:
    """The stand-in NVML's box, and the processes that take its GPUs."""

    def __init__(self, description: Path) -> None:
        self.description = description
        self.takers: list[Taker] = []

    def has(self, *gpus: dict[str, Any]) -> None:
        self.description.write_text(json.dumps(gpus))

    def taker(self, count: int = 1, when_busy: str = "stop") -> Taker:
        self.takers.append(Taker(count, when_busy))
        return self.takers[-1]


@pytest.fixture
def box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Box]:
    """The stand-in NVML, as `pynvml`, in this process and the ones it starts; a lock folder of
    the test's own; no CUDA_VISIBLE_DEVICES."""
    fake = tmp_path / "fake-nvml"
    fake.mkdir()
    shutil.copy(TESTS / "fake_pynvml.py", fake / "pynvml.py")
    path = [str(fake), str(TESTS), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(path))
    monkeypatch.setenv(BOX_VARIABLE, str(tmp_path / "box.json"))
    monkeypatch.setenv(shared_gpus.LOCKS_VARIABLE, str(tmp_path / "gpu-locks"))
    # Set, then removed, so that the variable as it was comes back after the test, whatever a
    # take in this process set (monkeypatch restores only what it changed itself).
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    spec = importlib.util.spec_from_file_location("pynvml", fake / "pynvml.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "pynvml", module)  # before it runs: its dataclasses look it up
    spec.loader.exec_module(module)
    made = Box(tmp_path / "box.json")
    yield made
    shared_gpus.release_all()  # what this process took, in-process tests of fit
    for taker in made.takers:
        if taker.process.poll() is None:
            taker.kill()


def test_processes_started_together_never_share_a_gpu(box: Box) -> None:
    box.has(gpu(0), gpu(1))
    takers = [box.taker() for _ in range(4)]
    held = [gpus for taker in takers if (gpus := taker.holds()) is not None]
    assert sorted(held) == [uuid(0), uuid(1)]
    refusals = [taker.refusal() for taker in takers if taker.process.poll() is not None]
    assert len(refusals) == 2
    for refusal in refusals:  # no GPU left for them
        assert refusal[0].startswith("error: no 1 free GPU(s) on this box: GPU ")


def test_with_none_free_stop_refuses_in_one_line_naming_the_holders(box: Box) -> None:
    box.has(gpu(0), gpu(1))
    first, second = box.taker(), box.taker()
    assert {first.holds(), second.holds()} == {uuid(0), uuid(1)}
    third = box.taker(when_busy="stop")
    (line,) = third.refusal()
    assert line.startswith("error: no 1 free GPU(s) on this box: GPU 0 held by ")
    for taker in (first, second):
        assert f"held by {USER} (pid {taker.process.pid}, in {Path.cwd()}: " in line
    assert line.endswith("try later, or give --gpus.when_busy wait to wait for them")


def test_with_none_free_wait_says_for_whom_and_takes_the_gpu_of_a_killed_holder(box: Box) -> None:
    box.has(gpu(0), gpu(1))
    first = box.taker()
    assert first.holds() == uuid(0)
    second = box.taker()
    assert second.holds() == uuid(1)
    third = box.taker(when_busy="wait")
    waiting = third.err.get(timeout=PATIENCE)
    assert waiting.startswith("waiting for 1 free GPU(s): GPU 0 held by ")
    assert f"(pid {first.process.pid}," in waiting and f"(pid {second.process.pid}," in waiting
    first.kill()  # SIGKILL: no code of its own runs; the kernel drops its lock
    assert third.holds() == uuid(0)
    assert second.process.poll() is None


def test_the_least_used_free_gpus_are_taken_first(box: Box) -> None:
    box.has(gpu(0, used_gib=5), gpu(1, used_gib=1), gpu(2, used_gib=3))
    assert box.taker(count=2).holds() == f"{uuid(1)},{uuid(2)}"


def test_a_gpu_in_use_by_other_programs_is_busy_whoever_uses_it(box: Box) -> None:
    box.has(gpu(0, processes=(4321,)), gpu(1, used_gib=40), gpu(2, used_gib=1))
    assert box.taker().holds() == uuid(2)
    (line,) = box.taker().refusal()
    assert "GPU 0 used by process 4321 (no run of this project)" in line
    assert "GPU 1 has 40.0 GiB in use (no run of this project)" in line
    assert "GPU 2 held by " in line


def test_gpus_lists_each_gpu_with_its_use_and_holder(
    box: Box, capsys: pytest.CaptureFixture[str]
) -> None:
    box.has(gpu(0), gpu(1, processes=(4321,)), gpu(2, used_gib=2))
    taker = box.taker()
    assert taker.holds() == uuid(0)
    main(["gpus"])
    command = f"{TESTS / 'gpu_taker.py'} 1 stop"
    assert capsys.readouterr().out.splitlines() == [
        f"GPU 0  Stand-in H100  0.0 of 80 GiB in use, 0% busy  held by {USER} (pid "
        f"{taker.process.pid}, in {Path.cwd()}: {command})",
        "GPU 1  Stand-in H100  0.0 of 80 GiB in use, 0% busy  used by process 4321 (no run of "
        "this project)",
        "GPU 2  Stand-in H100  2.0 of 80 GiB in use, 0% busy  free",
    ]


def test_doctor_names_the_held_gpus_and_their_holders(
    box: Box, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    box.has(gpu(0), gpu(1))
    taker = box.taker()
    assert taker.holds() == uuid(0)
    main(["doctor", "--requirements", str(write_locks(tmp_path / "requirements", {}))])
    lines = capsys.readouterr().out.splitlines()
    held = f"GPU locks      {uuid(0)} held by {USER} (pid {taker.process.pid}, in {Path.cwd()}: "
    assert any(line.startswith(held) for line in lines), lines


def test_a_fit_on_a_busy_box_stops_before_it_writes_anything(
    box: Box, refused: Refused, tmp_path: Path
) -> None:
    box.has(gpu(0))
    taker = box.taker()
    assert taker.holds() == uuid(0)
    error = refused(["fit", "--preset", "shared", "--gpus.when_busy", "stop"])
    assert error.startswith(
        f"error: no 1 free GPU(s) on this box: GPU 0 held by {USER} (pid {taker.process.pid}, "
    )
    assert len(error.splitlines()) == 1
    assert not (tmp_path / "runs").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine where CUDA cannot start")
def test_a_fit_takes_its_gpu_and_shows_cuda_only_that_one(
    box: Box, refused: Refused, capsys: pytest.CaptureFixture[str]
) -> None:
    box.has(gpu(0, used_gib=2), gpu(1))
    # The stand-in GPU is no CUDA device: the hardware check refuses the run after the take.
    error = refused(["fit", "--preset", "shared"])
    assert error.startswith("error: trainer.accelerator=gpu but no CUDA")
    assert os.environ["CUDA_VISIBLE_DEVICES"] == uuid(1)
    (held,) = shared_gpus.held_lines()
    assert held.startswith(f"{uuid(1)} held by {USER} (pid {os.getpid()}, in {Path.cwd()}: ")


def test_processes_a_run_starts_take_nothing(box: Box) -> None:
    box.has(gpu(0))
    settings = SimpleNamespace(count=1, when_busy="stop")
    trainer = SimpleNamespace(accelerator="gpu", devices=-1)
    shared_gpus.take_for_run(settings, trainer, first_process=False)  # as a DDP child
    assert "CUDA_VISIBLE_DEVICES" not in os.environ
    assert shared_gpus.held_lines()[0].startswith("none held")


@pytest.mark.parametrize(
    ("arguments", "variables", "refusal"),
    [
        (
            ["--trainer.devices", "2"],
            {},
            "error: --trainer.devices 2 with --gpus.count 1: the run sees only the GPUs it holds",
        ),
        (
            ["--trainer.accelerator", "cpu"],
            {},
            "error: --gpus.count 1 with --trainer.accelerator cpu: give --trainer.accelerator gpu",
        ),
        (
            [],
            {"CUDA_VISIBLE_DEVICES": "0"},
            "error: CUDA_VISIBLE_DEVICES is set ('0') and --gpus.count chooses the GPUs itself",
        ),
    ],
    ids=["devices", "accelerator", "visible-devices"],
)
def test_settings_that_contradict_the_gpus_taken_are_refused_in_one_line(
    box: Box,
    refused: Refused,
    monkeypatch: pytest.MonkeyPatch,
    arguments: list[str],
    variables: dict[str, str],
    refusal: str,
) -> None:
    box.has(gpu(0))
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    error = refused(["fit", "--preset", "shared", *arguments])
    assert error.startswith(refusal) and len(error.splitlines()) == 1


def test_without_a_driver_gpus_says_so_in_one_line(
    box: Box, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(BOX_VARIABLE)  # the stand-in now answers as NVML without a driver
    with pytest.raises(SystemExit) as exit_info:
        main(["gpus"])
    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == (
        "",
        "error: no NVIDIA driver here (NVML: NVML Shared Library Not Found): GPUs are shared on "
        "a Linux box with NVIDIA GPUs\n",
    )


def test_without_a_driver_the_real_bindings_say_so_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pynvml = pytest.importorskip("pynvml", reason="nvidia-ml-py is not installed here")
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        pass
    else:
        pynvml.nvmlShutdown()
        pytest.skip("this machine has an NVIDIA driver: `gpus` lists its GPUs (docs/scaling.md)")
    with pytest.raises(SystemExit) as exit_info:
        main(["gpus"])
    assert exit_info.value.code == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: no NVIDIA driver here (NVML: ")


def test_what_a_take_sets_is_undone_after_each_test() -> None:
    """Runs after the tests above in its worker, under pytest's default order: a GPU taken in
    this process by an earlier test leaves CUDA_VISIBLE_DEVICES as it found it."""
    assert not os.environ.get("CUDA_VISIBLE_DEVICES", "").startswith("GPU-0000000")
