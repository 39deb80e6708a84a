"""A stand-in for NVML's bindings (`pynvml`): a box of GPUs described in a JSON file.

test_shared_gpus.py copies it as `pynvml.py` into a folder on sys.path and PYTHONPATH, and names
the file in FAKE_NVML_BOX: a list of GPUs, each with `uuid`, `name`, `memory_used` and
`memory_total` (bytes), `utilisation` (percent) and `processes` (PIDs). Without the variable it
behaves as the real bindings do on a machine without an NVIDIA driver.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

BOX_VARIABLE = "FAKE_NVML_BOX"


class NVMLError(Exception):
    pass


@dataclass
class Memory:
    used: int
    total: int


@dataclass
class Utilization:
    gpu: int


@dataclass
class Process:
    pid: int


def box() -> list[dict[str, Any]]:
    gpus: list[dict[str, Any]] = json.loads(open(os.environ[BOX_VARIABLE]).read())
    return gpus


def nvmlInit() -> None:
    if BOX_VARIABLE not in os.environ:
        raise NVMLError("NVML Shared Library Not Found")  # the real message


def nvmlShutdown() -> None:
    pass


def nvmlDeviceGetCount() -> int:
    return len(box())


def nvmlDeviceGetHandleByIndex(index: int) -> dict[str, Any]:
    return box()[index]


def nvmlDeviceGetUUID(handle: dict[str, Any]) -> str:
    return str(handle["uuid"])


def nvmlDeviceGetName(handle: dict[str, Any]) -> str:
    return str(handle["name"])


def nvmlDeviceGetMemoryInfo(handle: dict[str, Any]) -> Memory:
    return Memory(used=handle["memory_used"], total=handle["memory_total"])


def nvmlDeviceGetUtilizationRates(handle: dict[str, Any]) -> Utilization:
    return Utilization(gpu=handle["utilisation"])


def nvmlDeviceGetComputeRunningProcesses(handle: dict[str, Any]) -> list[Process]:
    return [Process(pid) for pid in handle["processes"]]
