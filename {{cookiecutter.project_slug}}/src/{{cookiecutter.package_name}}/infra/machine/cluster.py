"""The processes a launcher started (SLURM's srun, torchrun), and the trainer settings that must fit.

Under a launcher, Lightning takes every rank and the world size from the launcher's environment. A
trainer that asks for another number of devices or nodes then waits for processes that never come,
or fails deep inside DDP; these checks name the setting to change before anything starts.

`trainer.num_nodes: -1` (the `multinode` preset) means "every node the launcher started", as
`trainer.devices: -1` means every GPU of a node: `resolve_num_nodes` turns it into the node count.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from {{ cookiecutter.package_name }}.infra.command_line.errors import launched, Refusal
from {{ cookiecutter.package_name }}.infra.machine import hardware
from {{ cookiecutter.package_name }}.infra.machine.hardware import processes_per_node, uses_cuda

NODES_FROM_LAUNCHER = -1
# Lightning's own test for an interactive allocation (`srun --pty bash`), in which it ignores SLURM.
INTERACTIVE_SLURM_JOB_NAMES = ("bash", "interactive")
# What launchers set as whole numbers: ranks, counts of processes and nodes.
LAUNCHER_NUMBERS = (
    "RANK",
    "LOCAL_RANK",
    "WORLD_SIZE",
    "LOCAL_WORLD_SIZE",
    "GROUP_WORLD_SIZE",
    "NODE_RANK",
    "SLURM_PROCID",
    "SLURM_LOCALID",
    "SLURM_NODEID",
    "SLURM_NTASKS",
    "SLURM_NNODES",
    "SLURM_NTASKS_PER_NODE",
)


@dataclass(frozen=True)
class Launch:
    """What a launcher started: `world_size` processes on `nodes` nodes."""

    launcher: str
    world_size: int
    nodes: int
    processes_per_node: int
    # The launcher's own setting for processes per node, named in error messages.
    per_node_setting: str


def launcher_variables_problem(environ: Mapping[str, str]) -> str | None:
    """Why the launcher variables of `environ` cannot be a launcher's (a value left in a shell, a
    variable copied without its companions), or None."""
    for name in LAUNCHER_NUMBERS:
        value = environ.get(name)
        if value is not None and not value.isdigit():
            return (
                f"{name}={value!r} is not a whole number, as a launcher would set it: unset {name} "
                "in this shell, or start the run from its launcher (torchrun, srun)"
            )
    if "TORCHELASTIC_RUN_ID" in environ:
        missing = [name for name in ("WORLD_SIZE", "LOCAL_WORLD_SIZE") if name not in environ]
        if missing:
            return (
                f"TORCHELASTIC_RUN_ID is set but {' and '.join(missing)} not: torchrun's variables "
                "without torchrun; unset TORCHELASTIC_RUN_ID, or start the run with torchrun"
            )
    elif not launched(environ):
        for name in ("RANK", "LOCAL_RANK"):
            if environ.get(name, "0") != "0":
                return (
                    f"{name}={environ[name]} is set, but no launcher started this process "
                    f"(WORLD_SIZE and MASTER_PORT are unset): unset {name} in this shell, or "
                    "start the run with torchrun or srun"
                )
    return None


def detect(environ: Mapping[str, str] = os.environ) -> Launch | None:
    """The launch this process belongs to, read as Lightning reads it; None when nothing launched it.

    torchrun comes first because Lightning prefers it: it can run inside a SLURM allocation.
    """
    problem = launcher_variables_problem(environ)
    if problem:
        raise Refusal(problem)
    if "TORCHELASTIC_RUN_ID" in environ:
        world_size = int(environ["WORLD_SIZE"])
        per_node = int(environ["LOCAL_WORLD_SIZE"])
        nodes = int(environ.get("GROUP_WORLD_SIZE", world_size // per_node))
        return Launch("torchrun", world_size, nodes, per_node, "torchrun's --nproc_per_node")
    if (
        "SLURM_NTASKS" in environ
        and environ.get("SLURM_JOB_NAME") not in INTERACTIVE_SLURM_JOB_NAMES
    ):
        world_size = int(environ["SLURM_NTASKS"])
        nodes = int(environ.get("SLURM_NNODES", "1"))
        if world_size > 1 and "SLURM_NTASKS_PER_NODE" not in environ:
            raise Refusal(
                f"SLURM started {world_size} tasks without --ntasks-per-node, which Lightning needs "
                "to place one process per device: set #SBATCH --ntasks-per-node to the GPUs per node "
                "instead of --ntasks"
            )
        per_node = int(environ.get("SLURM_NTASKS_PER_NODE", "1"))
        return Launch("SLURM", world_size, nodes, per_node, "#SBATCH --ntasks-per-node")
    return None


def resolve_num_nodes(num_nodes: int, launch: Launch | None) -> int:
    """`trainer.num_nodes`, with -1 replaced by the number of nodes the launcher started."""
    if num_nodes != NODES_FROM_LAUNCHER:
        return num_nodes
    if launch is None:
        raise Refusal(
            "trainer.num_nodes=-1 (the multinode preset) takes the node count from SLURM or "
            "torchrun, but neither started this process: launch it with srun or torchrun (see "
            "docs/scaling.md), or drop --preset multinode to train on this machine alone"
        )
    return launch.nodes


def check(accelerator: Any, devices: Any, num_nodes: int, launch: Launch | None) -> None:
    """Raise Refusal, naming the setting to change, unless devices × nodes = the world size."""
    per_node = processes_per_node(accelerator, devices)
    if launch is None:
        if num_nodes > 1:
            raise Refusal(
                f"trainer.num_nodes={num_nodes} needs a process started on every node, which "
                "nothing did: launch with srun or torchrun (see docs/scaling.md), or set "
                "--trainer.num_nodes 1"
            )
        return
    name = launch.launcher
    visible = torch.cuda.device_count()
    if uses_cuda(accelerator) and launch.processes_per_node > visible:
        raise Refusal(
            f"{name} started {launch.processes_per_node} processes per node but this node has "
            f"{visible} GPU{'s' if visible != 1 else ''}: set {launch.per_node_setting} to the "
            "number of GPUs per node (one process per GPU)"
        )
    if per_node * num_nodes == launch.world_size:
        return
    asked = per_node * num_nodes
    summary = (
        f"trainer.devices={devices} × trainer.num_nodes={num_nodes} = {asked} "
        f"process{'es' if asked != 1 else ''}, but {name} started {launch.world_size} "
        f"({launch.nodes} node{'s' if launch.nodes != 1 else ''} × {launch.processes_per_node})"
    )
    if per_node != launch.processes_per_node:
        fix = (
            f"Lightning runs one process per device, so set --trainer.devices "
            f"{launch.processes_per_node} or {launch.per_node_setting} {per_node}"
        )
    else:
        fix = f"set --trainer.num_nodes {launch.nodes}, or use --preset multinode, which reads it"
    raise Refusal(f"{summary}: {fix}")


def check_start(
    accelerator: Any,
    devices: Any,
    precision: Any,
    strategy: Any,
    num_nodes: int,
    compile_model: bool,
) -> int:
    """The start-up check of `fit` and the other commands: the trainer settings against this
    machine (hardware.check) and against the launcher (check). `doctor --preset` runs it too, so it
    says "cannot run here" exactly where a command would refuse.

    Raise Refusal naming the setting to change; return num_nodes with -1 resolved.
    """
    launch = detect()
    num_nodes = resolve_num_nodes(num_nodes, launch)
    hardware.check(
        accelerator,
        devices,
        precision,
        strategy=strategy,
        num_nodes=num_nodes,
        compile_model=compile_model,
    )
    check(accelerator, devices, num_nodes, launch)
    return num_nodes
