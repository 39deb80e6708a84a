"""Run folders: each belongs to one run, held by one process at a time.

A new run's `version_N` is made with `mkdir`, which fails when the folder exists, so two commands
started together get different folders by construction. The process that runs in a folder holds an
exclusive `flock` on `run.lock` there, which names its PID: a second process is refused, and the
kernel drops the lock when its holder dies, so a lock left by a killed process is simply taken over.
The lock file goes when the run ends; a folder made by a refused command goes with it. `runs`
tells a live run from a dead one by trying the lock for an instant (`is_held`), never writing.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal

LOCK = "run.lock"
VERSION = re.compile(r"version_(\d+)")
# `is_held` takes a lock shared for an instant: `hold` tries again for this long before refusing.
PROBE_SECONDS = 0.1
# A run folder is made for its owner to write and its group (the team) to read; others cannot even
# list it, so nothing in it (config, provenance, checkpoints) is world-readable, whatever the umask
# lets through for the files inside. A stricter umask tightens it further.
RUN_FOLDER_MODE = 0o750


@dataclass
class HeldFolder:
    """A run folder this process holds: the open, locked `run.lock`, and the folders it made."""

    folder: Path
    descriptor: int
    made: list[Path]


_held: list[HeldFolder] = []


def make_folders(folder: Path) -> list[Path]:
    """Make `folder` and its missing parents; the ones made, innermost first."""
    missing = [path for path in (folder, *folder.parents) if not path.exists()]
    folder.mkdir(mode=RUN_FOLDER_MODE, parents=True, exist_ok=True)
    return missing


def versions(root: Path) -> list[tuple[int, Path]]:
    """The run folders `version_N` under `root` with their numbers, newest (highest N) first."""
    numbered = [
        (int(match.group(1)), path)
        for path in root.glob("version_*")
        if (match := VERSION.fullmatch(path.name))
    ]
    return sorted(numbered, reverse=True)


def new_version(root: Path) -> tuple[int, list[Path]]:
    """Make `root`/version_N, N one past the highest there, atomically against other processes.

    N, and the folders made (innermost first), which `hold` removes again if left empty.
    """
    made = make_folders(root)
    numbers = [
        int(match.group(1)) for path in root.iterdir() if (match := VERSION.fullmatch(path.name))
    ]
    version = max(numbers, default=-1) + 1
    while True:
        try:
            (root / f"version_{version}").mkdir(mode=RUN_FOLDER_MODE)
            return version, [root / f"version_{version}", *made]
        except FileExistsError:  # another command made it first: take the next one
            version += 1


def take_lock(descriptor: int) -> bool:
    """Lock the open file exclusively; False while another process holds it (longer than a probe)."""
    deadline = time.monotonic() + PROBE_SECONDS
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)


def is_held(folder: Path) -> bool:
    """Whether a live process holds `folder`'s lock: a lock file left by a dead one holds nothing.

    Reads only: the lock is taken shared and given back at once, and the file is never written.
    """
    try:
        descriptor = os.open(folder / LOCK, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:  # no lock file: no process works in the folder
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)  # gives the probe's lock back
    return False


def hold(folder: Path, made: list[Path] | None = None) -> None:
    """Lock `folder` for this process, or refuse in one line naming the process that holds it."""
    lock = folder / LOCK
    while True:
        try:
            # Never through a link: a run.lock planted as one would have its target overwritten.
            descriptor = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as error:
            if error.errno != errno.ELOOP:
                raise
            raise Refusal(
                f"{lock} is a symbolic link, not a lock file: nothing is written through it; "
                "remove it (and see who put it there), then run again"
            ) from None
        if not take_lock(descriptor):
            holder = os.read(descriptor, 64).decode(errors="replace").strip() or "unknown"
            os.close(descriptor)
            raise Refusal(
                f"run folder {folder} is in use by process {holder} ({lock}); wait for it to "
                "end, or start a new run without --resume"
            ) from None
        # The holder before us may have removed the file between our open and our lock: then this
        # lock guards nothing, so try again on the file that is there now.
        if os.path.exists(lock) and os.path.samestat(os.fstat(descriptor), os.stat(lock)):
            break
        os.close(descriptor)
    os.ftruncate(descriptor, 0)
    os.write(descriptor, f"{os.getpid()}\n".encode())
    _held.append(HeldFolder(folder, descriptor, made or []))


def release_all(refused: bool = False) -> None:
    """Give up every folder this process holds: remove its lock file, and folders made if empty.

    `refused`: the command was refused before it ran, so a folder it made holds only what the
    loggers write on start-up, and goes too.
    """
    while _held:
        held = _held.pop()
        (held.folder / LOCK).unlink(missing_ok=True)  # still locked here, so no one else's file
        if refused and held.made:
            shutil.rmtree(held.made[0])
        os.close(held.descriptor)
        for folder in (path for path in held.made if path.exists()):  # innermost first
            if any(folder.iterdir()):
                break
            folder.rmdir()


def holds_records(folder: Path) -> bool:
    """Whether `folder` already holds another run's files (anything beside a lock file)."""
    return folder.is_dir() and any(path.name != LOCK for path in folder.iterdir())


# Whether a run can write where it logs is asked before its folder is made, not found out after:
# a probe of a few pages, enough for a full disk to refuse the write, cheap everywhere else.
PROBE_BYTES = 16 * 1024


def check_writable(folder: Path) -> None:
    """Write and remove a probe file in `folder` (or the nearest folder above it that exists)."""
    existing = folder.absolute()
    while not existing.is_dir() and existing != existing.parent:
        existing = existing.parent
    try:
        with tempfile.TemporaryFile(dir=existing) as probe:
            probe.write(b"\0" * PROBE_BYTES)
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise Refusal(
            f"cannot write in {existing} ({reason}): make it writable, free space there, or log "
            "elsewhere with --trainer.logger.init_args.save_dir DIR"
        ) from None
