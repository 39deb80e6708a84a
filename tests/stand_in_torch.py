"""A stand-in for a torch +cpu wheel of any Python: torch's metadata, no code.

Enough for a resolver (uv pip compile) to lock against an index that lists it, where torch's real
CPU wheel for that Python is out of reach; never installed for use.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import re
import zipfile
from pathlib import Path

CUDA_PREFIXES = ("nvidia-", "cuda-", "triton")


def record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def stand_in_torch_wheel(folder: Path, version: str) -> Path:
    """A torch +cpu wheel for `version` holding only torch's metadata, CUDA requirements removed."""
    torch = importlib.metadata.distribution("torch")
    release = torch.version.split("+")[0]
    metadata = "".join(
        re.sub(r"^Version: .*$", f"Version: {release}+cpu", line)
        for line in (torch.read_text("METADATA") or "").splitlines(keepends=True)
        if not line.startswith(tuple(f"Requires-Dist: {prefix}" for prefix in CUDA_PREFIXES))
    )
    tag = "cp" + version.replace(".", "")
    info = f"torch-{release}+cpu.dist-info"
    files = {
        f"{info}/METADATA": metadata.encode(),
        f"{info}/WHEEL": (
            f"Wheel-Version: 1.0\nGenerator: stand-in\nRoot-Is-Purelib: false\n"
            f"Tag: {tag}-{tag}-manylinux_2_28_x86_64\n"
        ).encode(),
    }
    record = [record_line(path, data) for path, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"torch-{release}+cpu-{tag}-{tag}-manylinux_2_28_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return wheel
