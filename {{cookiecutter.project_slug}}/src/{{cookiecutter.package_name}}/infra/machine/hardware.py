"""Check, before anything trains or writes, that this machine can run the requested trainer settings."""

from __future__ import annotations

import shutil
from importlib.util import find_spec
from typing import Any

import torch

from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal

CUDA_ACCELERATORS = {"gpu", "cuda"}
FLOAT16_PRECISIONS = {"16", "16-mixed", "16-true"}
BFLOAT16_PRECISIONS = {"bf16", "bf16-mixed", "bf16-true"}
# What this project runs on Apple's GPU (MPS): one device, one process, 32-bit, no torch.compile.
MPS_PRECISIONS = {"32", "32-true", "None"}  # None: Lightning's default, 32-bit


def uses_cuda(accelerator: Any) -> bool:
    """Whether `trainer.accelerator` runs on CUDA GPUs here ("auto" does when one is visible).

    The one place this is decided: the checks here, the launch checks and `bench` ask it.
    """
    accelerator = str(accelerator)
    return accelerator in CUDA_ACCELERATORS or (
        accelerator == "auto" and torch.cuda.device_count() > 0
    )


def requested_gpus(devices: Any) -> int:
    """How many GPUs `trainer.devices` asks for (-1 and "auto" mean all of them)."""
    if devices in (-1, "-1", "auto"):
        return max(torch.cuda.device_count(), 1)
    return _count(devices)


def processes_per_node(accelerator: Any, devices: Any) -> int:
    """How many processes per node `trainer.accelerator` and `trainer.devices` start.

    The one place devices are counted: "auto" and -1 mean every GPU, but one process on a CPU.
    """
    if uses_cuda(accelerator):
        return requested_gpus(devices)
    return 1 if devices in ("auto", -1, "-1") else _count(devices)


def _count(devices: Any) -> int:
    """A device count, or the length of a list of device indices ("0,1" or [0, 1])."""
    if isinstance(devices, (list, tuple)):
        return len(devices)
    if isinstance(devices, str) and "," in devices:
        return len([d for d in devices.split(",") if d.strip()])
    return int(devices)


def check(
    accelerator: Any,
    devices: Any,
    precision: Any,
    strategy: Any = "auto",
    num_nodes: int = 1,
    compile_model: bool = False,
) -> None:
    """Raise Refusal naming the setting and the fix when the machine cannot run it."""
    accelerator = str(accelerator)
    precision = str(precision)
    if accelerator == "mps":
        _check_mps(devices, precision, str(strategy), num_nodes, compile_model)
        return
    gpus = torch.cuda.device_count()
    on_cuda = uses_cuda(accelerator)
    processes = processes_per_node(accelerator, devices) * num_nodes
    if str(strategy).startswith("ddp") and processes == 1:
        visible = f": {gpus} GPU{'s' if gpus != 1 else ''} visible" if on_cuda else ""
        raise Refusal(
            f"trainer.strategy={strategy} with a single process (trainer.devices={devices} "
            f"on {num_nodes} node{'s' if num_nodes > 1 else ''}{visible}) only adds DDP's "
            "overhead: use --preset gpu for one GPU, or give --trainer.devices 2 or more"
        )
    if compile_model:
        _check_compile(on_cuda)
    if accelerator in CUDA_ACCELERATORS:
        if gpus == 0:
            raise Refusal(
                f"trainer.accelerator={accelerator} but no CUDA GPU is visible "
                "(torch.cuda.is_available() is False): run on a GPU machine, or use --preset cpu"
            )
        wanted = requested_gpus(devices)
        if wanted > gpus:
            raise Refusal(
                f"trainer.devices={devices} asks for {wanted} GPUs but {gpus} visible: "
                f"set --trainer.devices {gpus} or fewer"
            )
    if precision in FLOAT16_PRECISIONS and not on_cuda:
        raise Refusal(
            f"trainer.precision={precision} (fp16) needs a CUDA GPU and would silently become "
            "bfloat16 on the CPU: use --preset bf16 on a CPU"
        )
    if precision in BFLOAT16_PRECISIONS and on_cuda and not torch.cuda.is_bf16_supported():
        raise Refusal(
            f"trainer.precision={precision} needs bfloat16, which {torch.cuda.get_device_name()} "
            "lacks (compute capability 8.0 or newer): use --preset fp16"
        )


def mps_available() -> bool:
    """Whether Apple's GPU (MPS) can run here: a Mac on Apple silicon with torch's macOS build."""
    return torch.backends.mps.is_available()


def _check_mps(
    devices: Any, precision: str, strategy: str, num_nodes: int, compile_model: bool
) -> None:
    """The mps preset runs one process on the Mac's one GPU, in 32-bit precision, uncompiled."""
    if not mps_available():
        raise Refusal(
            "trainer.accelerator=mps but MPS is not available here (it needs a Mac on Apple "
            "silicon, macOS 14 or newer and torch's macOS build): use --preset cpu"
        )
    if strategy.startswith(("ddp", "fsdp", "deepspeed")) or num_nodes > 1:
        raise Refusal(
            f"trainer.strategy={strategy} on {num_nodes} node(s) cannot run on MPS, which has no "
            "distributed backend for its one GPU: drop --preset ddp and --preset multinode"
        )
    if devices not in (1, "1", "auto", -1, "-1"):
        raise Refusal(
            f"trainer.devices={devices} on MPS: a Mac has one GPU, so set --trainer.devices 1"
        )
    if precision not in MPS_PRECISIONS:
        raise Refusal(
            f"trainer.precision={precision} on MPS: this project runs MPS in 32-bit precision "
            "(16-bit autocast there is not checked by its tests): drop the fp16/bf16 preset"
        )
    if compile_model:
        raise Refusal(
            "compile=true (the compile preset) on MPS: torch.compile's MPS backend is experimental "
            "in this torch: drop --preset compile"
        )


def _check_compile(on_cuda: bool) -> None:
    """torch.compile needs Triton for CUDA kernels and a C++ compiler for CPU kernels."""
    if on_cuda and find_spec("triton") is None:
        raise Refusal(
            "compile=true (the compile preset) needs Triton on a GPU, and it is not installed: "
            "install the GPU lock (nox -s sync -- gpu), or drop --preset compile"
        )
    if not on_cuda and not any(shutil.which(compiler) for compiler in ("c++", "g++", "clang++")):
        raise Refusal(
            "compile=true (the compile preset) needs a C++ compiler on a CPU and none is on "
            "PATH: install one (for example g++), or drop --preset compile"
        )
