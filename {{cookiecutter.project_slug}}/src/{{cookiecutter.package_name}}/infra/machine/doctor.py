"""`doctor`: what this machine and environment offer, and whether the named presets can run here.

python -m {{ cookiecutter.package_name }} doctor                             # the report
python -m {{ cookiecutter.package_name }} doctor --preset gpu --preset bf16  # exit 1 if they cannot run

It exits 1, saying why, when a named preset needs what this machine lacks, when installed packages
differ from the locks, or when the locks are out of step with their .in files.

The locks are found, in this order, at `--requirements DIR`; in the project whose src/ this package
is imported from (an editable install or PYTHONPATH=src); in ./requirements. The report says which.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import torch

from {{ cookiecutter.package_name }}.infra.command_line import defaults, presets
from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal
from {{ cookiecutter.package_name }}.infra.command_line.parser import CommandParser, PROG
from {{ cookiecutter.package_name }}.infra.machine import cluster, hardware, locks, shared_gpus

# What Lightning's Trainer uses when neither defaults.yaml nor a preset sets the field.
TRAINER_DEFAULTS = {
    "accelerator": "auto",
    "devices": "auto",
    "precision": "32-true",
    "strategy": "auto",
    "num_nodes": 1,
}
LABEL_WIDTH = 15


def parser() -> CommandParser:
    parser = CommandParser(
        prog=f"{PROG} doctor",
        description="Report this machine and environment; check that the named presets can run.",
    )
    parser.add_argument(
        "--preset",
        action="append",
        default=[],
        metavar="NAME",
        help="a preset to check, as given to fit (repeat to combine them)",
    )
    parser.add_argument(
        "--requirements",
        type=Path,
        metavar="DIR",
        help="the folder of the locks (default: the project's requirements/, else ./requirements)",
    )
    return parser


def parse_args(args: list[str]) -> argparse.Namespace:
    return parser().parse_args(args)


def find_requirements(explicit: Path | None) -> tuple[Path | None, str]:
    """The folder of the locks and how it was found (None if there is none)."""
    if explicit is not None:
        return explicit, "given with --requirements"
    package_dir = Path(__file__).resolve().parents[2]  # src/<package>, holding infra/machine/
    if package_dir.parent.name == "src" and (package_dir.parents[1] / "requirements").is_dir():
        return package_dir.parents[1] / "requirements", "the project this package is imported from"
    if (Path.cwd() / "requirements").is_dir():
        return Path.cwd() / "requirements", "the current directory"
    return None, "none found (pass --requirements DIR)"


def driver_version() -> str:
    """The NVIDIA driver's version, as nvidia-smi reports it."""
    nvidia_smi = shutil.which("nvidia-smi")
    if nvidia_smi is None:
        return "none (nvidia-smi not found)"
    query = [nvidia_smi, "--query-gpu=driver_version", "--format=csv,noheader"]
    try:
        result = subprocess.run(query, capture_output=True, text=True, timeout=30, check=True)
    except (subprocess.SubprocessError, OSError) as error:
        return f"unknown (nvidia-smi failed: {error})"
    versions = sorted(set(result.stdout.split()))
    return ", ".join(versions) or "unknown (nvidia-smi listed no GPU)"


def gpu_lines() -> Iterator[str]:
    """One line per visible GPU: name, compute capability, memory."""
    if not torch.cuda.is_available():
        reason = "CPU build of torch" if torch.version.cuda is None else "no CUDA device visible"
        if torch.version.cuda is None and shutil.which("nvidia-smi"):
            reason += "; there is an NVIDIA driver: `nox -s sync -- gpu` installs CUDA torch"
        yield f"none visible ({reason})"
        return
    for index in range(torch.cuda.device_count()):
        properties = torch.cuda.get_device_properties(index)
        memory = properties.total_memory / 2**30
        yield (
            f"{index}: {properties.name}, compute capability {properties.major}.{properties.minor}, "
            f"{memory:.0f} GiB"
        )


def bf16_support() -> str:
    if not torch.cuda.is_available():
        return "no GPU; bf16-mixed runs on the CPU"
    if torch.cuda.is_bf16_supported():
        return "yes"
    return "no (needs compute capability 8.0 or newer): use fp16"


def mps_support() -> str:
    if hardware.mps_available():
        return "available (Apple silicon): --preset mps"
    if sys.platform == "darwin":
        return "not available (needs Apple silicon, macOS 14 or newer, torch's macOS build)"
    return "not available (macOS on Apple silicon only)"


def nccl_support() -> str:
    distributed = torch.distributed.is_available()
    if distributed and torch.distributed.is_nccl_available() and torch.cuda.is_available():
        nccl = torch.cuda.nccl.version()  # type: ignore[no-untyped-call]  # torch leaves it untyped
        version = ".".join(map(str, nccl))
        return f"available, version {version}"
    gloo = distributed and torch.distributed.is_gloo_available()
    return "not available" + ("; DDP on the CPU uses gloo" if gloo else "")


def preset_problem(names: list[str]) -> str | None:
    """Why these presets, together, cannot run here (as fit would refuse them); None if they can."""
    config = defaults.load([presets.path(name) for name in names])
    trainer = config.get("trainer") or {}
    settings = {key: trainer.get(key, default) for key, default in TRAINER_DEFAULTS.items()}
    try:
        cluster.check_start(**settings, compile_model=bool(config.get("compile", False)))
    except Refusal as error:
        return str(error)
    return None


def package_lines(requirements: Path | None) -> tuple[list[str], bool]:
    """The lock and package part of the report, and whether it found a problem."""
    if requirements is None:
        return ["not compared: no locks found"], False
    problems = locks.out_of_step(requirements, "{}.{}".format(*sys.version_info[:2]))
    if problems:
        return ["the locks are out of step with their .in files:", *problems], True
    # The lock target of this platform and of the build of torch installed here; a CPU machine
    # synced from a fallback CPU lock (PyPI's torch, see locks.CPU_FALLBACK_MARK) has the CUDA build.
    cpu_fallback = locks.is_cpu_fallback(requirements / locks.CPU_LOCK)
    if sys.platform == "darwin":
        target = "macos"
    elif torch.version.cuda is None or (cpu_fallback and not torch.cuda.is_available()):
        target = "cpu"
    else:
        target = "gpu"
    try:
        lock_files = locks.locks_for(requirements, target)
    except Refusal as error:
        return [str(error)], True
    checked, differences = locks.installed_differences(lock_files)
    names = ", ".join(lock.name for lock in lock_files)
    if not differences:
        return [f"all {checked} packages pinned in {names} are installed at their pins"], False
    lines = [f"{len(differences)} of {checked} differ from {names}; `nox -s sync` installs them:"]
    width = max(len(difference.name) for difference in differences)
    for difference in differences:
        installed = f"installed {difference.installed}" if difference.installed else "not installed"
        lines.append(
            f"  {difference.name:{width}}  {installed}, locked {difference.locked} ({difference.lock})"
        )
    return lines, True


def report(requirements: Path | None, found: str) -> tuple[list[str], bool]:
    """The report's lines, and whether it found a problem with the environment."""
    rows = {
        "Python": f"{platform.python_version()} ({sys.executable})",
        "torch": torch.__version__,
        "CUDA runtime": torch.version.cuda or "none (CPU build of torch)",
        "NVIDIA driver": driver_version(),
    }
    lines = [f"{label:{LABEL_WIDTH}}{value}" for label, value in rows.items()]
    for index, line in enumerate(gpu_lines()):
        lines.append(f"{'GPUs' if index == 0 else '':{LABEL_WIDTH}}{line}")
    # Runs of any user holding GPUs of this box (--gpus.count, the shared preset), from their locks.
    for index, line in enumerate(shared_gpus.held_lines()):
        lines.append(f"{'GPU locks' if index == 0 else '':{LABEL_WIDTH}}{line}")
    lines.append(f"{'bf16':{LABEL_WIDTH}}{bf16_support()}")
    lines.append(f"{'MPS':{LABEL_WIDTH}}{mps_support()}")
    lines.append(f"{'NCCL':{LABEL_WIDTH}}{nccl_support()}")
    where = f"{requirements} ({found})" if requirements else found
    lines.append(f"{'Locks':{LABEL_WIDTH}}{where}")
    package_report, package_problem = package_lines(requirements)
    for index, line in enumerate(package_report):
        lines.append(f"{'Packages' if index == 0 else '':{LABEL_WIDTH}}{line}")
    lines.append("Presets that run here:")
    available = presets.available()
    width = max(map(len, available))
    for name in available:
        problem = preset_problem([name])
        lines.append(f"  {name:{width}}  {'yes' if problem is None else 'no: ' + problem}")
    return lines, package_problem


def main(args: list[str]) -> None:
    """Print the report; exit 1 if named presets cannot run here or the packages differ from the locks."""
    options = parse_args(args)
    requirements, found = find_requirements(options.requirements)
    if requirements is not None and not requirements.is_dir():
        raise Refusal(f"--requirements {requirements} is not a folder")
    presets.check_compatible(options.preset)
    lines, environment_problem = report(requirements, found)
    print("\n".join(lines))
    failures = []
    if options.preset:
        problem = preset_problem(options.preset)
        named = " ".join(f"--preset {name}" for name in options.preset)
        if problem is not None:
            failures.append(f"{named} cannot run here: {problem}")
        else:
            print(f"{named}: can run here")
    if environment_problem:
        failures.append("the environment differs from the locks (see Packages above)")
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    if failures:
        raise SystemExit(1)
