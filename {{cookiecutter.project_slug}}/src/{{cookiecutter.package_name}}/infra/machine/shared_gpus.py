"""A GPU box shared by several people: each run takes the GPUs it needs and holds them.

`--gpus.count N` (the shared preset sets 1) makes the launching process take the N least-used free
GPUs before anything initialises CUDA, and point CUDA_VISIBLE_DEVICES at them; the processes it
starts (DDP) inherit the variable and take nothing. A GPU is free when no run holds its lock, NVML
lists no compute process on it, and less than a tenth of its memory is in use (the memory tells of
users NVML cannot name: another container, a tool that is no run of this project).

Each GPU has a lock file, gpu-<UUID>.lock, in one folder that every user of the box can write
(LOCKS_VARIABLE names another; tests use their own). A run holds an exclusive `flock` on the files
of its GPUs for its whole life, so the kernel gives them back when it ends, however it ends; the
file says who holds it (user, PID, working folder, command). The files stay: a file that no process
locks holds nothing. With too few free, `--gpus.when_busy wait` waits, saying for whom; `stop`
refuses in one line that names the holders.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import shlex
import stat
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from {{ cookiecutter.package_name }}.infra.command_line.errors import launched, Refusal
from {{ cookiecutter.package_name }}.infra.command_line.parser import CommandParser, PROG
from {{ cookiecutter.package_name }}.infra.records.folders import take_lock

if TYPE_CHECKING:  # the `gpus` command runs without Lightning
    from lightning.pytorch.cli import LightningArgumentParser

LOCKS_VARIABLE = "{{ cookiecutter.package_name | upper }}_GPU_LOCKS"
# In /tmp itself, not in TMPDIR: every user's runs must find the same folder.
DEFAULT_FOLDER = Path("/tmp/{{ cookiecutter.package_name }}-gpus")
# Writable by everyone, each file removable by its owner only (the sticky bit, as /tmp has).
FOLDER_MODE = 0o1777
FILE_MODE = 0o666
# A GPU with this share of its memory in use is busy, whoever uses it.
BUSY_MEMORY_FRACTION = 0.1
# How often a waiting run looks again.
WAIT_SECONDS = 1.0
WHEN_BUSY = ("wait", "stop")


@dataclass(frozen=True)
class Gpu:
    """One GPU as NVML reports it, and who holds its lock (None: no one)."""

    index: int
    uuid: str
    name: str
    memory_used: int
    memory_total: int
    utilisation: int | None  # percent; None where the GPU does not report it
    processes: tuple[int, ...]  # PIDs of its compute processes (any user's)
    holder: dict[str, Any] | None = field(default=None, compare=False)

    def state(self) -> str:
        """'free', or what keeps the GPU from being free."""
        if self.holder is not None:
            return f"held by {describe(self.holder)}"
        if self.processes:
            pids = ", ".join(map(str, self.processes))
            return f"used by process {pids} (no run of this project)"
        if self.memory_used >= BUSY_MEMORY_FRACTION * self.memory_total:
            return f"has {self.memory_used / 2**30:.1f} GiB in use (no run of this project)"
        return "free"

    def is_free(self) -> bool:
        return self.state() == "free"

    def usage(self) -> str:
        used, total = self.memory_used / 2**30, self.memory_total / 2**30
        percent = "?" if self.utilisation is None else f"{self.utilisation}%"
        return f"{used:.1f} of {total:.0f} GiB in use, {percent} busy"


class NoGpus(Refusal):
    """NVML cannot be read here: no driver, or no bindings."""


# The lock files this process holds (open descriptors: closing one gives its GPU back).
_held: dict[str, int] = {}


def lock_folder() -> Path:
    return Path(os.environ.get(LOCKS_VARIABLE) or DEFAULT_FOLDER)


def read_gpus() -> list[Gpu]:
    """Every GPU of the box, as NVML sees it (CUDA_VISIBLE_DEVICES does not hide any)."""
    try:
        import pynvml
    except ImportError:
        raise NoGpus(
            "nvidia-ml-py (NVML's bindings) is not installed: `nox -s sync` installs the locks"
        ) from None
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as error:
        raise NoGpus(
            f"no NVIDIA driver here (NVML: {error}): GPUs are shared on a Linux box with NVIDIA GPUs"
        ) from None
    try:
        return [read_gpu(pynvml, index) for index in range(pynvml.nvmlDeviceGetCount())]
    finally:
        pynvml.nvmlShutdown()


def read_gpu(pynvml: Any, index: int) -> Gpu:
    handle = pynvml.nvmlDeviceGetHandleByIndex(index)
    memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
    try:
        utilisation: int | None = int(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)
    except pynvml.NVMLError:  # not supported (MIG slices, some boards)
        utilisation = None
    uuid = text(pynvml.nvmlDeviceGetUUID(handle))
    return Gpu(
        index=index,
        uuid=uuid,
        name=text(pynvml.nvmlDeviceGetName(handle)),
        memory_used=int(memory.used),
        memory_total=int(memory.total),
        utilisation=utilisation,
        processes=tuple(
            int(process.pid) for process in pynvml.nvmlDeviceGetComputeRunningProcesses(handle)
        ),
        holder=holder(lock_path(uuid)),
    )


def text(value: str | bytes) -> str:
    """NVML's strings: str from nvidia-ml-py 11 on, bytes before."""
    return value.decode() if isinstance(value, bytes) else value


def lock_path(uuid: str) -> Path:
    return lock_folder() / f"gpu-{uuid}.lock"


def holder(path: Path) -> dict[str, Any] | None:
    """Who holds the lock at `path`; None if no live process does. Reads only (as runs.is_held)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        content = os.read(descriptor, 4096).decode(errors="replace")
        try:
            found = json.loads(content)
        except ValueError:  # being written, or not ours
            found = None
        return found if isinstance(found, dict) else {"pid": "unknown"}
    finally:
        os.close(descriptor)  # gives the probe's lock back
    return None


def describe(holder: dict[str, Any]) -> str:
    """alice (pid 4242, in /home/alice/project: python -m pkg fit --preset shared)"""
    where = f", in {holder['folder']}: {holder['command']}" if "folder" in holder else ""
    return f"{holder.get('user', 'someone')} (pid {holder.get('pid')}{where})"


def prepare_folder(folder: Path) -> None:
    """Make the shared folder, writable by every user (sticky); refuse one that is not a folder."""
    if not folder.exists():
        try:
            folder.mkdir(parents=True)
            folder.chmod(FOLDER_MODE)  # mkdir's mode goes through the umask
        except FileExistsError:  # another run made it first
            pass
    if not stat.S_ISDIR(os.lstat(folder).st_mode):
        raise Refusal(
            f"{folder} (the GPU locks' folder) is not a folder: remove it, or set "
            f"{LOCKS_VARIABLE} to another folder"
        )


def try_hold(gpu: Gpu, command: list[str]) -> bool:
    """Lock `gpu`'s file for this process and name this run in it; False if another holds it."""
    path = lock_path(gpu.uuid)
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE)
    except OSError as error:
        raise Refusal(
            f"cannot open the lock of GPU {gpu.index} ({error}); every user needs to write in "
            f"{path.parent}: `chmod 1777 {path.parent}`, or set {LOCKS_VARIABLE}"
        ) from None
    if not take_lock(descriptor):
        os.close(descriptor)
        return False
    if os.fstat(descriptor).st_uid == os.getuid():
        os.fchmod(descriptor, FILE_MODE)  # through the umask at creation: others need to lock it
    about = {
        "user": getpass.getuser(),
        "pid": os.getpid(),
        "folder": os.getcwd(),
        "command": shlex.join(command),
        "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        "gpu": gpu.index,
    }
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, json.dumps(about).encode(), 0)
    _held[gpu.uuid] = descriptor
    return True


def take_free(count: int, command: list[str]) -> tuple[list[Gpu], list[str]]:
    """Hold `count` of the least-used free GPUs: those, or none and why each other GPU is busy."""
    gpus = read_gpus()
    if count > len(gpus):
        raise Refusal(f"--gpus.count {count}, but this box has {len(gpus)} GPU(s)")
    prepare_folder(lock_folder())
    taken: list[Gpu] = []
    for gpu in sorted(gpus, key=lambda gpu: (gpu.memory_used, gpu.utilisation or 0, gpu.index)):
        if len(taken) < count and gpu.is_free() and try_hold(gpu, command):
            taken.append(gpu)
    if len(taken) == count:
        return taken, []
    release_all()  # none held while waiting: two runs waiting for two GPUs never hold one each
    busy = [f"GPU {gpu.index} {gpu.state()}" for gpu in read_gpus() if not gpu.is_free()]
    return [], busy or ["taken just now"]


def take(count: int, when_busy: str, command: list[str] | None = None) -> list[Gpu]:
    """Hold `count` GPUs and make them the only ones CUDA sees in this process and its children."""
    said = None
    while True:
        gpus, reasons = take_free(count, sys.argv if command is None else command)
        if gpus:
            break
        busy = "; ".join(reasons)
        if when_busy == "stop":
            raise Refusal(
                f"no {count} free GPU(s) on this box: {busy}; try later, or give "
                "--gpus.when_busy wait to wait for them"
            )
        if busy != said:  # said again only when the holders change
            print(f"waiting for {count} free GPU(s): {busy}", file=sys.stderr, flush=True)
            said = busy
        time.sleep(WAIT_SECONDS)
    # By UUID, as CUDA accepts it: NVML's order (PCI bus) and CUDA's (fastest first) may differ.
    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(gpu.uuid for gpu in gpus)
    print(f"Holding GPU {', '.join(str(gpu.index) for gpu in gpus)} (--gpus.count {count})")
    return gpus


def release_all() -> None:
    while _held:
        os.close(_held.popitem()[1])


def add_arguments(parser: LightningArgumentParser) -> None:
    """--gpus.count and --gpus.when_busy, for every command that runs."""
    from jsonargparse.typing import NonNegativeInt

    parser.add_argument(
        "--gpus.count",
        type=NonNegativeInt,
        default=0,
        help="take this many of the least-used free GPUs of a shared box and hold them for the run "
        f"(the shared preset takes 1; `{PROG} gpus` lists who holds which); 0 leaves "
        "CUDA_VISIBLE_DEVICES alone.",
    )
    parser.add_argument(
        "--gpus.when_busy",
        choices=WHEN_BUSY,
        default="wait",
        help="with --gpus.count and too few free GPUs: 'wait' until enough are, saying for whom; "
        "'stop' at once.",
    )


def take_for_run(settings: Any, trainer: Any, first_process: bool) -> None:
    """The run's --gpus settings, in the launching process, before anything starts CUDA.

    Once per process: a later command in it (a sweep's next trial) keeps the GPUs it holds.
    """
    count = settings.count
    if count == 0 or not first_process or len(_held) == count:
        return  # the processes it starts (DDP) inherit CUDA_VISIBLE_DEVICES
    if _held:
        raise Refusal(
            f"this process holds {len(_held)} GPU(s) already: --gpus.count {count} needs a "
            "process of its own"
        )
    problem = settings_problem(count, trainer, os.environ)
    if problem:
        raise Refusal(problem)
    take(count, settings.when_busy)


def settings_problem(count: int, trainer: Any, environ: Mapping[str, str]) -> str | None:
    """Why --gpus.count cannot choose this run's GPUs, or None."""
    if launched(environ):
        return (
            "--gpus.count under a launcher (torchrun, srun): the launcher gives each process its "
            "GPU; drop --gpus.count"
        )
    if "CUDA_VISIBLE_DEVICES" in environ:
        return (
            f"CUDA_VISIBLE_DEVICES is set ({environ['CUDA_VISIBLE_DEVICES']!r}) and --gpus.count "
            "chooses the GPUs itself: unset the variable, or drop --gpus.count"
        )
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        return "CUDA started before --gpus.count chose the GPUs: give it to a new process"
    if trainer.accelerator not in ("gpu", "cuda", "auto"):
        return (
            f"--gpus.count {count} with --trainer.accelerator {trainer.accelerator}: give "
            "--trainer.accelerator gpu (the shared preset does), or drop --gpus.count"
        )
    if trainer.devices not in ("auto", -1, "-1", count, str(count)):
        return (
            f"--trainer.devices {trainer.devices} with --gpus.count {count}: the run sees only the "
            "GPUs it holds; give --trainer.devices -1 (all of them) or the same number"
        )
    return None


def parser() -> CommandParser:
    return CommandParser(
        prog=f"{PROG} gpus",
        description="List this box's GPUs: memory and use, and which run (any user's) holds each "
        "(--gpus.count, the shared preset). Exit status 1 where NVML cannot be read (no driver).",
    )


def main(args: list[str]) -> None:
    """`gpus`: one line per GPU of the box, with its use and the run that holds it."""
    parser().parse_args(args)
    try:
        gpus = read_gpus()
    except NoGpus as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    for gpu in gpus:
        print(f"GPU {gpu.index}  {gpu.name}  {gpu.usage()}  {gpu.state()}")
    if not gpus:
        print("NVML lists no GPU on this box")


def held_lines() -> list[str]:
    """For doctor: the GPUs held by runs on this box, and by whom (without NVML: the lock files)."""
    folder = lock_folder()
    found = [
        (path.name.removeprefix("gpu-").removesuffix(".lock"), holder(path))
        for path in sorted(folder.glob("gpu-*.lock"))
    ]
    held = [f"{uuid} held by {describe(who)}" for uuid, who in found if who is not None]
    return held or [f"none held ({folder})"]
