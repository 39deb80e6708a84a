"""Launchers: settings that contradict what SLURM or torchrun started are refused before training,
and scripts/torchrun.sh trains with two CPU processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Refused
import torch
import yaml

from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal
from {{ cookiecutter.package_name }}.infra.machine import cluster

PROJECT = Path(__file__).resolve().parents[1]
# Two nodes with two tasks each, as `sbatch --nodes=2 --ntasks-per-node=2` starts them.
SLURM_TWO_BY_TWO = {
    "SLURM_JOB_NAME": "train",
    "SLURM_NTASKS": "4",
    "SLURM_NTASKS_PER_NODE": "2",
    "SLURM_NNODES": "2",
}
TORCHRUN_ONE_BY_TWO = {
    "TORCHELASTIC_RUN_ID": "none",
    "WORLD_SIZE": "2",
    "LOCAL_WORLD_SIZE": "2",
    "GROUP_WORLD_SIZE": "1",
}


def test_slurm_and_torchrun_launches_are_read_from_their_environment() -> None:
    assert cluster.detect(SLURM_TWO_BY_TWO) == cluster.Launch(
        "SLURM", 4, 2, 2, "#SBATCH --ntasks-per-node"
    )
    assert cluster.detect(TORCHRUN_ONE_BY_TWO) == cluster.Launch(
        "torchrun", 2, 1, 2, "torchrun's --nproc_per_node"
    )
    assert cluster.detect({}) is None
    # `srun --pty bash` is an interactive shell, which Lightning does not treat as a launch.
    assert cluster.detect({**SLURM_TWO_BY_TWO, "SLURM_JOB_NAME": "bash"}) is None


def test_multinode_preset_takes_the_node_count_from_the_launcher() -> None:
    launch = cluster.detect(SLURM_TWO_BY_TWO)
    assert cluster.resolve_num_nodes(-1, launch) == 2
    assert cluster.resolve_num_nodes(3, launch) == 3  # an explicit count is kept, then checked
    cluster.check("cpu", 2, 2, launch)  # 2 devices × 2 nodes = the 4 tasks: accepted


def test_too_few_nodes_for_the_allocation_is_refused_with_the_fix() -> None:
    with pytest.raises(Refusal) as error:
        cluster.check("cpu", 2, 1, cluster.detect(SLURM_TWO_BY_TWO))
    assert str(error.value) == (
        "trainer.devices=2 × trainer.num_nodes=1 = 2 processes, but SLURM started 4 "
        "(2 nodes × 2): set --trainer.num_nodes 2, or use --preset multinode, which reads it"
    )


def test_devices_that_differ_from_the_processes_per_node_are_refused() -> None:
    with pytest.raises(Refusal) as error:
        cluster.check("cpu", 1, 1, cluster.detect(TORCHRUN_ONE_BY_TWO))
    assert str(error.value) == (
        "trainer.devices=1 × trainer.num_nodes=1 = 1 process, but torchrun started 2 "
        "(1 node × 2): Lightning runs one process per device, so set --trainer.devices 2 or "
        "torchrun's --nproc_per_node 1"
    )


def test_more_tasks_per_node_than_gpus_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(Refusal) as error:
        cluster.check("gpu", -1, 2, cluster.detect(SLURM_TWO_BY_TWO))
    assert str(error.value) == (
        "SLURM started 2 processes per node but this node has 1 GPU: set "
        "#SBATCH --ntasks-per-node to the number of GPUs per node (one process per GPU)"
    )


def test_slurm_tasks_without_tasks_per_node_are_refused() -> None:
    environment = {key: value for key, value in SLURM_TWO_BY_TWO.items() if "PER_NODE" not in key}
    with pytest.raises(Refusal, match="SLURM started 4 tasks without --ntasks-per-node"):
        cluster.detect(environment)


def test_preset_that_contradicts_the_allocation_is_refused_before_anything_is_written(
    in_tmp_dir: Path, refused: Refused, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {**SLURM_TWO_BY_TWO, "SLURM_NNODES": "1", "SLURM_NTASKS": "2"}.items():
        monkeypatch.setenv(name, value)
    error = refused(["fit", "--preset", "cpu"])
    assert error.startswith("error: trainer.devices=1 × trainer.num_nodes=1 = 1 process, but SLURM")
    assert "set --trainer.devices 2 or #SBATCH --ntasks-per-node 1" in error
    assert list(in_tmp_dir.iterdir()) == []


def test_multinode_preset_without_a_launcher_is_refused(in_tmp_dir: Path, refused: Refused) -> None:
    error = refused(["fit", "--preset", "multinode"])
    assert "trainer.num_nodes=-1 (the multinode preset) takes the node count from SLURM" in error
    assert list(in_tmp_dir.iterdir()) == []


def test_several_nodes_without_a_launcher_are_refused(in_tmp_dir: Path, refused: Refused) -> None:
    error = refused(["fit", "--trainer.num_nodes", "2"])
    assert "trainer.num_nodes=2 needs a process started on every node" in error
    assert list(in_tmp_dir.iterdir()) == []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.slow
def test_torchrun_script_trains_with_two_cpu_processes(in_tmp_dir: Path) -> None:
    environment = {
        "PYTHON": sys.executable,
        "PROCS_PER_NODE": "2",
        "MAIN_PORT": str(_free_port()),
    }
    fit_args = [
        "--trainer.accelerator=cpu",
        "--trainer.devices=2",
        "--trainer.max_epochs=3",
        "--trainer.enable_progress_bar=false",
        "--trainer.enable_model_summary=false",
    ]
    result = subprocess.run(
        ["bash", str(PROJECT / "scripts" / "torchrun.sh"), *fit_args],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "GLOBAL_RANK: 0, MEMBER: 1/2" in output and "GLOBAL_RANK: 1, MEMBER: 2/2" in output
    (run,) = (in_tmp_dir / "runs").glob("*/version_0")
    trainer = yaml.safe_load((run / "config.yaml").read_text())["trainer"]
    assert trainer["num_nodes"] == 1  # the multinode preset's -1, read from torchrun
    assert trainer["strategy"] == "ddp"
    (best,) = (run / "checkpoints").glob("epoch*-val_acc*.ckpt")
    assert float(best.stem.split("val_acc")[1]) > 0.9
