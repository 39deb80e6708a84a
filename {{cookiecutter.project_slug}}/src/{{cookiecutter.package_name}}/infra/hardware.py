"""Check, before anything trains or writes, that this machine can run the requested trainer settings."""

from __future__ import annotations

import shutil
from importlib.util import find_spec
from typing import Any

import torch

CUDA_ACCELERATORS = {"gpu", "cuda"}
FLOAT16_PRECISIONS = {"16", "16-mixed", "16-true"}
BFLOAT16_PRECISIONS = {"bf16", "bf16-mixed", "bf16-true"}


class HardwareError(RuntimeError):
    """The requested settings need hardware this machine does not have."""


def requested_gpus(devices: Any) -> int:
    """How many GPUs `trainer.devices` asks for (-1 and "auto" mean all of them)."""
    if devices in (-1, "-1", "auto"):
        return max(torch.cuda.device_count(), 1)
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
    """Raise HardwareError naming the setting and the fix when the machine cannot run it."""
    accelerator = str(accelerator)
    precision = str(precision)
    gpus = torch.cuda.device_count()
    on_cuda = accelerator in CUDA_ACCELERATORS or (accelerator == "auto" and gpus > 0)
    processes = (requested_gpus(devices) if on_cuda else _cpu_processes(devices)) * num_nodes
    if str(strategy).startswith("ddp") and processes == 1:
        raise HardwareError(
            f"trainer.strategy={strategy} with a single process ({devices} device on "
            f"{num_nodes} node) only adds DDP's overhead: use --preset gpu for one GPU, or give "
            "--trainer.devices 2 or more"
        )
    if compile_model:
        _check_compile(on_cuda)
    if accelerator in CUDA_ACCELERATORS:
        if gpus == 0:
            raise HardwareError(
                f"trainer.accelerator={accelerator} but no CUDA GPU is visible "
                "(torch.cuda.is_available() is False): run on a GPU machine, or use --preset cpu"
            )
        wanted = requested_gpus(devices)
        if wanted > gpus:
            raise HardwareError(
                f"trainer.devices={devices} asks for {wanted} GPUs but {gpus} visible: "
                f"set --trainer.devices {gpus} or fewer"
            )
    if precision in FLOAT16_PRECISIONS and not on_cuda:
        raise HardwareError(
            f"trainer.precision={precision} (fp16) needs a CUDA GPU and would silently become "
            "bfloat16 on the CPU: use --preset bf16 on a CPU"
        )
    if precision in BFLOAT16_PRECISIONS and on_cuda and not torch.cuda.is_bf16_supported():
        raise HardwareError(
            f"trainer.precision={precision} needs bfloat16, which {torch.cuda.get_device_name()} "
            "lacks (compute capability 8.0 or newer): use --preset fp16"
        )


def _cpu_processes(devices: Any) -> int:
    return 1 if devices in ("auto", -1, "-1") else requested_gpus(devices)


def _check_compile(on_cuda: bool) -> None:
    """torch.compile needs Triton for CUDA kernels and a C++ compiler for CPU kernels."""
    if on_cuda and find_spec("triton") is None:
        raise HardwareError(
            "model.compile=true (the compile preset) needs Triton on a GPU, and it is not installed: "
            "install the GPU lock (nox -s sync -- gpu), or drop --preset compile"
        )
    if not on_cuda and not any(shutil.which(compiler) for compiler in ("c++", "g++", "clang++")):
        raise HardwareError(
            "model.compile=true (the compile preset) needs a C++ compiler on a CPU and none is on "
            "PATH: install one (for example g++), or drop --preset compile"
        )
