"""The generated SLURM scripts on a real one-node SLURM cluster (slurmctld, slurmd, started here).

Two CPU tasks stand in for two GPUs, over gloo: the jobs override the scripts' GPU settings on the
sbatch command line, as a user overrides any setting, and give fit `--trainer.accelerator=cpu`.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest
import torch
import yaml
from conftest import TEMPLATE
from cookiecutter.main import cookiecutter  # type: ignore[import-untyped]  # no type hints
from services import SlurmCluster, run_environment, start_slurm, wait_until

# The jobs' deadlines (a first checkpoint within minutes) hold on a machine left to them.
pytestmark = [pytest.mark.alone, pytest.mark.slow]

PACKAGE = "digit_classifier"
SLUG = "digit-classifier"
# Summing gradients over two ranks instead of within one batch reorders float additions: the
# weights agree with one process to about 1e-6; 1e-4 leaves margin without hiding a wrong sampler.
WEIGHT_TOLERANCE = 1e-4
ACCURACY_TOLERANCE = 0.01
TWO_CPU_TASKS = [
    "--nodes=1",
    "--ntasks-per-node=2",
    "--gpus-per-node=0",
    "--cpus-per-task=1",
    "--mem=1G",
    "--time=10",
]
FIT_ON_CPU = [
    "--trainer.accelerator=cpu",
    "--trainer.devices=2",
    "--trainer.enable_progress_bar=false",
    "--trainer.enable_model_summary=false",
]


@pytest.fixture(scope="module")
def slurm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlurmCluster]:
    cluster = start_slurm(tmp_path_factory.mktemp("slurm"))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, slurm: SlurmCluster) -> Path:
    """A project with the CSV logger, whose metrics.csv the tests read; jobs import it from src/."""
    output = tmp_path_factory.mktemp("baked")
    baked = cookiecutter(
        str(TEMPLATE), no_input=True, extra_context={"logger": "csv"}, output_dir=str(output)
    )
    slurm.environment = run_environment(Path(baked), slurm.environment)
    return Path(baked)


def submit(
    slurm: SlurmCluster, project: Path, script: str, flags: list[str], args: list[str]
) -> str:
    partition = f"--partition={slurm.partition}"
    return slurm.submit(project / "scripts" / "slurm" / script, [*flags, partition], args, project)


def metrics(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def validated_epochs(rows: list[dict[str, str]]) -> list[int]:
    return [int(row["epoch"]) for row in rows if row["val/acc"]]


def final_accuracy(rows: list[dict[str, str]]) -> float:
    return [float(row["val/acc"]) for row in rows if row["val/acc"]][-1]


def load(path: Path) -> dict[str, Any]:
    checkpoint: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=False)
    return checkpoint


def test_sbatch_job_runs_both_ranks_and_matches_one_process(
    slurm: SlurmCluster, project: Path
) -> None:
    epochs = ["--trainer.max_epochs=3"]
    job_id = submit(slurm, project, "train.sbatch", TWO_CPU_TASKS, [*FIT_ON_CPU, *epochs])
    # Meanwhile, the same training in one process, outside SLURM.
    alone = subprocess.run(
        [sys.executable, "-m", PACKAGE, "fit", "--preset", "cpu", *epochs, *FIT_ON_CPU[2:]]
        + ["--trainer.logger.init_args.version=alone"],
        cwd=project,
        env=run_environment(project),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert alone.returncode == 0, alone.stderr[-3000:]
    job = slurm.wait(job_id)
    log = (project / f"slurm-{SLUG}-{job_id}.out").read_text()
    assert job.state == "COMPLETED", log[-3000:]

    # srun --label prefixes each line with the task that printed it: both ranks joined.
    assert "0: Initializing distributed: GLOBAL_RANK: 0, MEMBER: 1/2" in log
    assert "1: Initializing distributed: GLOBAL_RANK: 1, MEMBER: 2/2" in log
    run = project / "runs" / PACKAGE / f"slurm-{job_id}"
    trainer = yaml.safe_load((run / "config.yaml").read_text())["trainer"]
    assert trainer["num_nodes"] == 1  # the multinode preset's -1, read from SLURM_NNODES
    assert (trainer["strategy"], str(trainer["devices"])) == ("ddp", "2")

    single = project / "runs" / PACKAGE / "alone"
    distributed, reference = load(run / "checkpoints" / "last.ckpt"), load(
        single / "checkpoints" / "last.ckpt"
    )
    assert distributed["global_step"] == reference["global_step"]
    for name, weight in reference["state_dict"].items():
        difference = (distributed["state_dict"][name] - weight).abs().max().item()
        assert difference < WEIGHT_TOLERANCE, f"{name} differs from one process by {difference}"
    accuracy = final_accuracy(metrics(run / "metrics.csv"))
    assert abs(accuracy - final_accuracy(metrics(single / "metrics.csv"))) < ACCURACY_TOLERANCE
    assert accuracy > 0.9


def test_preempted_job_requeues_itself_and_resumes_from_its_checkpoint(
    slurm: SlurmCluster, project: Path
) -> None:
    epochs = 5
    # A checkpoint after every epoch (not only the best), to count the steps each one holds.
    every_epoch = [f"--trainer.max_epochs={epochs}", "--checkpoint.save_top_k=-1"]
    job_id = submit(slurm, project, "train.sbatch", TWO_CPU_TASKS, [*FIT_ON_CPU, *every_epoch])
    run = project / "runs" / PACKAGE / f"slurm-{job_id}"
    # Once the first epoch is checkpointed, the signal that --signal=USR1@90 sends near the limit.
    wait_until("first epoch", lambda: (run / "checkpoints" / "last.ckpt").exists(), 300, 0.2)
    slurm.run("scancel", "--signal=USR1", job_id)
    job = slurm.wait(job_id, timeout=400)
    log = (project / f"slurm-{SLUG}-{job_id}.out").read_text()
    assert (job.state, job.restarts) == ("COMPLETED", 1), log[-3000:]

    # The first attempt saved a checkpoint on the signal and requeued the job; the second found it.
    assert f"Requeued SLURM job {job_id}; it resumes from" in log
    assert (
        f"Restoring states from the checkpoint path at {run.relative_to(project)}/hpc_ckpt_1.ckpt"
        in log
    )
    preempted = load(run / "hpc_ckpt_1.ckpt")
    first, second = metrics(run / "metrics-attempt1.csv"), metrics(run / "metrics.csv")
    # Every epoch was validated exactly once, across the two attempts: nothing lost, none redone.
    assert validated_epochs(first) and validated_epochs(second)
    assert validated_epochs(first) + validated_epochs(second) == list(range(epochs))
    # The second attempt went on from the checkpoint's step, not from the start.
    assert preempted["global_step"] > 0
    assert min(int(row["step"]) for row in second) >= preempted["global_step"]
    # Every epoch ended a whole epoch's optimizer steps after the one before: none lost or repeated.
    ends = [load(path) for path in sorted((run / "checkpoints").glob("epoch*.ckpt"))]
    assert [end["epoch"] for end in ends] == list(range(epochs))
    steps_per_epoch = ends[0]["global_step"]
    assert [end["global_step"] for end in ends] == [
        steps_per_epoch * (epoch + 1) for epoch in range(epochs)
    ]
    assert final_accuracy(second) > 0.9


def test_sweep_array_tasks_share_one_study(slurm: SlurmCluster, project: Path) -> None:
    space = project / "sweeps" / "two-rates.yaml"
    space.write_text(
        yaml.safe_dump(
            {
                "metric": {"name": "val/acc", "goal": "maximize"},
                "parameters": {"model.learning_rate": {"values": [3.0e-3, 1.0e-3]}},
            }
        )
    )
    tasks = ["--array=0-1", "--ntasks=1", "--gpus=0", "--cpus-per-task=1", "--mem=1G", "--time=10"]
    one_quick_trial = ["--trials", "1", "--space", str(space), "--trainer.accelerator=cpu"] + [
        "--trainer.max_epochs=1",
        "--trainer.limit_train_batches=3",
        "--trainer.limit_val_batches=2",
        "--trainer.enable_progress_bar=false",
    ]
    array_id = submit(slurm, project, "sweep.sbatch", tasks, one_quick_trial)
    logs = []
    for task in (0, 1):
        job = slurm.wait(f"{array_id}_{task}")
        logs.append((project / f"slurm-{SLUG}-sweep-{array_id}_{task}.out").read_text())
        assert job.state == "COMPLETED", logs[-1][-3000:]

    storage = f"sqlite:///{project / 'runs' / 'sweeps' / 'optuna.db'}"
    study = optuna.load_study(study_name=f"{SLUG}-sweep-{array_id}", storage=storage)
    assert sorted(trial.number for trial in study.trials) == [0, 1]
    assert {trial.state for trial in study.trials} == {optuna.trial.TrialState.COMPLETE}
    # Each task ran one trial, and not the same one.
    started = [sorted(set(re.findall(r"^trial (\d+): --", log, re.MULTILINE))) for log in logs]
    assert sorted(started) == [["0"], ["1"]]
