"""Data fingerprints: what identifies the data a run trained on, recorded in its provenance.

A data module says what identifies its data with a `data_fingerprint` method (or attribute)
returning a short string (a dataset version, a query's date), or, better, what `files` gives:

    def data_fingerprint(self) -> Fingerprint:
        return fingerprints.files(self.folder)

`files` hashes the contents of files and folders (sha256), as DVC and git-annex do. Each file's hash
is kept in a cache under ~/.cache (XDG_CACHE_HOME) by path, size, modification time and inode, so a
second run over a large folder walks it and reads only what changed. A path that DVC tracks (a
`<path>.dvc` file beside it, or an output in the `dvc.lock` of its DVC project) is not read at all:
its fingerprint is the hash DVC recorded there (`dvc status` tells whether the folder still matches).

The training command reads the fingerprint in the first process before `prepare_data` and `setup`,
so that `fit --resume auto` on changed data is refused before anything is written: it must read
files, not loaded data. Without a `data_fingerprint`, provenance says that there is none.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal

CACHE_NAME = "{{ cookiecutter.package_name }}/file-hashes.sqlite3"
CHUNK = 1 << 20


@dataclass(frozen=True)
class Fingerprint:
    """A fingerprint of a data set (`value`) and how it was made (`how`), as provenance records it."""

    value: str
    how: str


def short(value: object) -> str:
    """The fingerprint as a table shows it: the first 12 characters of its hash (or text)."""
    if not isinstance(value, str) or not value:
        return "-"
    return value.partition(":")[2][:12] if value.startswith("sha256:") else value[:12]


def cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / CACHE_NAME


class HashCache:
    """sha256 of files by path, size, modification time and inode: unchanged files are not read.

    A cache that cannot be opened or written (a read-only home) costs reading, never a failure.
    """

    def __init__(self) -> None:
        self.connection: sqlite3.Connection | None = None
        try:
            path = cache_path()
            path.parent.mkdir(parents=True, exist_ok=True)
            self.connection = sqlite3.connect(path, timeout=30)
            self.connection.execute(
                "CREATE TABLE IF NOT EXISTS hashes (path TEXT PRIMARY KEY, size INTEGER, "
                "mtime_ns INTEGER, inode INTEGER, sha256 TEXT)"
            )
        except (OSError, sqlite3.Error):
            self.connection = None
        self.new: list[tuple[str, int, int, int, str]] = []  # written at close, in one commit

    def hash_and_size(self, path: Path) -> tuple[str, int]:
        """The file's sha256 and its size, from one stat."""
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)
        if self.connection is not None:
            row = self.connection.execute(
                "SELECT sha256 FROM hashes WHERE path = ? AND size = ? AND mtime_ns = ? AND "
                "inode = ?",
                key,
            ).fetchone()
            if row is not None:
                return str(row[0]), stat.st_size
        digest = hashlib.sha256()
        with path.open("rb") as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
        self.new.append((*key, digest.hexdigest()))
        return digest.hexdigest(), stat.st_size

    def close(self) -> None:
        if self.connection is None:
            return
        try:
            with self.connection:
                self.connection.executemany(
                    "INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?)", self.new
                )
        except sqlite3.Error:
            pass  # a locked or full cache: the next run reads these files again
        self.connection.close()


def files_under(folder: Path) -> Iterator[Path]:
    """Every file in `folder` and its subfolders, in a fixed order."""
    for directory, subdirectories, names in os.walk(folder):
        subdirectories.sort()
        for name in sorted(names):
            yield Path(directory) / name


def dvc_project(path: Path) -> Path | None:
    """The DVC project holding `path` (the nearest folder above it with a .dvc folder), or None."""
    for folder in path.resolve().parents:
        if (folder / ".dvc").is_dir():
            return folder
    return None


def dvc_hash(path: Path) -> tuple[str, str] | None:
    """(the hash DVC recorded for `path`, the file it is in), or None when DVC does not track it."""
    resolved = path.resolve()
    candidates: list[tuple[Path, Path]] = []  # (a DVC file, the folder its paths are relative to)
    beside = path.with_name(path.name + ".dvc")
    if beside.is_file():
        candidates.append((beside, beside.parent))
    project = dvc_project(path)
    if project is not None and (project / "dvc.lock").is_file():
        candidates.append((project / "dvc.lock", project))
    for dvc_file, base in candidates:
        try:
            content = yaml.safe_load(dvc_file.read_text()) or {}
        except (OSError, yaml.YAMLError) as error:
            raise Refusal(f"cannot read {dvc_file} for the data's fingerprint: {error}") from None
        if not isinstance(content, dict):
            raise Refusal(
                f"{dvc_file} is no DVC file (no mapping of outs or stages): fix or remove it"
            )
        sections = [content]
        stages = content.get("stages")
        if isinstance(stages, dict):
            sections = [stage for stage in stages.values() if isinstance(stage, dict)]
        for section in sections:
            folder = base / str(section.get("wdir", ".")) if section is not content else base
            for out in section.get("outs") or []:
                if isinstance(out, dict) and (folder / str(out.get("path"))).resolve() == resolved:
                    recorded = out.get("md5") or out.get("etag") or out.get("checksum")
                    if recorded:
                        return str(recorded), dvc_file.name
    return None


def files(*paths: str | Path) -> Fingerprint:
    """The fingerprint of the contents of `paths` (files and folders), independent of where they
    are: each file enters by its path below the one given, so a moved project keeps it."""
    if not paths:
        raise ValueError("fingerprints.files needs at least one file or folder")
    cache = HashCache()
    entries: list[str] = []
    count = size = 0
    hashed: list[str] = []  # the paths given, as read
    tracked: list[str] = []  # and as DVC recorded them
    try:
        for given in map(Path, paths):
            if not given.exists():
                raise FileNotFoundError(f"no file or folder {given} to fingerprint")
            recorded = dvc_hash(given)
            if recorded is not None:
                entries.append(f"{given.name}\tdvc:{recorded[0]}")
                tracked.append(f"{given} ({recorded[1]})")
                continue
            hashed.append(str(given))
            found = files_under(given) if given.is_dir() else iter([given])
            for path in found:
                name = path.relative_to(given.parent).as_posix()
                file_hash, file_size = cache.hash_and_size(path)
                entries.append(f"{name}\t{file_hash}")
                count += 1
                size += file_size
    finally:
        cache.close()
    digest = hashlib.sha256("\n".join(sorted(entries)).encode()).hexdigest()
    parts = []
    if hashed:
        files_read = f"{count} file" + ("" if count == 1 else "s")
        parts.append(f"sha256 of {files_read} ({amount(size)}) in {', '.join(hashed)}")
    if tracked:
        parts.append(f"the hashes DVC recorded for {', '.join(tracked)}")
    return Fingerprint(f"sha256:{digest}", "; ".join(parts))


def amount(size: int) -> str:
    """A size in bytes as people read it: 512 bytes, 57.2 kB, 1.3 GB."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def of_data(datamodule: object) -> dict[str, Any]:
    """Provenance's `data` section: the data module's fingerprint and how it was made, or a
    fingerprint of None that says why there is none."""
    name = type(datamodule).__name__
    given = getattr(datamodule, "data_fingerprint", None)
    if given is None:
        return {
            "fingerprint": None,
            "how": f"none: {name} has no data_fingerprint "
            "(infra/records/fingerprints.py says how to add one)",
        }
    value = given() if callable(given) else given
    if isinstance(value, Fingerprint):
        return {"fingerprint": value.value, "how": value.how}
    if isinstance(value, str) and value.strip():
        return {"fingerprint": value.strip(), "how": f"given by {name}.data_fingerprint"}
    raise Refusal(
        f"{name}.data_fingerprint gave {value!r}: it must give a non-empty text or a "
        "fingerprints.Fingerprint (fingerprints.files(...) makes one)"
    )


def changed(started: object, now: dict[str, Any]) -> str | None:
    """Why the data of a run whose provenance `data` section is `started` differs from `now`, or
    None when it does not (or cannot be told: a side without a fingerprint)."""
    before = started.get("fingerprint") if isinstance(started, dict) else None
    after = now.get("fingerprint")
    if not isinstance(before, str) or not isinstance(after, str) or before == after:
        return None
    return f"the data changed since the run started: fingerprint {short(before)} then, {short(after)} now"
