"""Where the CPU build of torch comes from: torch's CPU index (or a mirror of it), or a folder of wheels.

PyPI carries only torch's CUDA build for Linux; the `+cpu` build lives on torch's own index. pip and
uv are pointed at it only for a lock that pins a `+cpu` torch, and only after a quick check that it
answers: an index that cannot be reached would otherwise cost minutes of retries, package by package.

    TORCH_CPU_INDEX_URL=URL    a mirror of https://download.pytorch.org/whl/cpu (a corporate proxy)
    TORCH_CPU_FIND_LINKS=DIR   a folder (or page) of wheels holding the torch +cpu wheel instead
"""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.request
from pathlib import Path

DEFAULT_INDEX = "https://download.pytorch.org/whl/cpu"
PINNED_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==", re.MULTILINE)
# Wheels that only the CUDA build of torch needs (by canonical name); the CPU lock holds none.
CUDA_ONLY_PREFIXES = ("nvidia-", "cuda-", "triton")
# NVIDIA's pure-Python NVML bindings (`gpus`, shared_gpus.py), locked for every target: a name of
# NVIDIA's that is no CUDA wheel.
EVERY_TARGET = ("nvidia-ml-py",)
PROBE_SECONDS = 10


class UnreachableIndex(RuntimeError):
    """torch's CPU index does not answer; the message names the URL and the ways around it."""


def is_cuda_only(name: str) -> bool:
    """Whether the distribution `name`, however spelled (`NVIDIA_cublas`), is a wheel only the CUDA
    build of torch needs."""
    canonical = re.sub(r"[-_.]+", "-", name).lower()  # PEP 503, as packaging's canonicalize_name
    return canonical.startswith(CUDA_ONLY_PREFIXES) and canonical not in EVERY_TARGET


def index_url() -> str:
    """The CPU index in use: TORCH_CPU_INDEX_URL, else torch's own."""
    return os.environ.get("TORCH_CPU_INDEX_URL", "").rstrip("/") or DEFAULT_INDEX


def pins_cpu_torch(lock: Path) -> bool:
    """Whether `lock` pins torch's CPU build (a `torch==X+cpu` line), which PyPI does not carry."""
    return any(line.startswith("torch==") and "+cpu" in line for line in lock.read_text().split())


def check_reachable() -> None:
    """Raise UnreachableIndex within seconds if the CPU index does not list torch."""
    if os.environ.get("TORCH_CPU_FIND_LINKS"):
        return
    url = f"{index_url()}/torch/"
    try:
        with urllib.request.urlopen(url, timeout=PROBE_SECONDS) as response:
            response.read(1)
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise UnreachableIndex(
            f"torch's CPU index {url} cannot be reached ({reason}): point TORCH_CPU_FIND_LINKS at a "
            "folder holding the torch +cpu wheel, or TORCH_CPU_INDEX_URL at a mirror of the index"
        ) from None


def source_arguments(installer: str) -> list[str]:
    """pip's or uv's arguments that find torch's CPU build (after check_reachable()).

    uv stops at the first index that lists a package; the locks' hashes pin every file, so letting
    it pick across indexes (as pip does) is safe, and the CPU index may list other packages too.
    """
    wheels = os.environ.get("TORCH_CPU_FIND_LINKS")
    if wheels:
        return [f"--find-links={wheels}"]
    across = ["--index-strategy=unsafe-best-match"] if installer == "uv" else []
    return [f"--extra-index-url={index_url()}", *across]


def install_notice(lock_files: list[Path]) -> str:
    """What installing `lock_files` is about to do and roughly how long it takes: installers print
    nothing while they download, and torch alone is hundreds of MB."""
    names = {name.lower() for lock in lock_files for name in PINNED_NAME.findall(lock.read_text())}
    cuda = [name for name in names if is_cuda_only(name)]
    torch = f"with {len(cuda)} CUDA packages, several GB" if cuda else "the CPU build, about 190 MB"
    return (
        f"installing {len(names)} locked packages, hash-checked; torch is the largest ({torch}): "
        "a first install downloads them (a minute or more), later ones take seconds from the cache"
    )
