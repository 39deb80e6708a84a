"""Preemption under SLURM: SIGUSR1 saves a checkpoint at a step boundary and requeues the job, and
the requeued job resumes from it. One process, with the SLURM variables srun would set."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import torch
from lightning.pytorch import Callback, LightningModule, Trainer

from {{ cookiecutter.package_name }}.infra.machine import preemption
from {{ cookiecutter.package_name }}.infra.training.lightning_cli import build

SIGNALLED_AT_STEP = 3
FIT = [
    "fit",
    "--preset",
    "cpu",
    "--trainer.max_epochs=1",
    "--trainer.limit_train_batches=6",
    "--trainer.limit_val_batches=2",
    "--trainer.enable_progress_bar=false",
    "--trainer.enable_model_summary=false",
    "--trainer.default_root_dir=runs/job",
]


class SignalDuringStep(Callback):
    """Sends this process SIGUSR1 in the middle of one training step, as SLURM would."""

    def on_before_backward(
        self, trainer: Trainer, pl_module: LightningModule, loss: torch.Tensor
    ) -> None:
        if trainer.global_step == SIGNALLED_AT_STEP:
            os.kill(os.getpid(), signal.SIGUSR1)


@pytest.fixture
def under_slurm(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SLURM's variables for a one-task job 4242, and a stand-in `scontrol` on PATH that records
    its arguments; returns the file it writes them to."""
    for name, value in {
        "SLURM_JOB_ID": "4242",
        "SLURM_JOB_NAME": "train",
        "SLURM_NTASKS": "1",
        "SLURM_NTASKS_PER_NODE": "1",
        "SLURM_NNODES": "1",
        "SLURM_PROCID": "0",
        "SLURM_LOCALID": "0",
        "SLURM_NODEID": "0",
    }.items():
        monkeypatch.setenv(name, value)
    bin_dir = tmp_path_factory.mktemp("bin")
    calls = bin_dir / "calls.txt"
    scontrol = bin_dir / "scontrol"
    scontrol.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    scontrol.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return calls


def _preempted_fit() -> None:
    """A fit that SIGUSR1 interrupts: it checkpoints, requeues the job and exits."""
    with pytest.raises(SystemExit) as exit_info:
        build(FIT, callbacks=[SignalDuringStep()])
    assert exit_info.value.code == 0


def test_signal_checkpoints_after_the_step_requeues_the_job_and_exits(
    in_tmp_dir: Path, under_slurm: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _preempted_fit()
    saved = torch.load(in_tmp_dir / "runs/job/hpc_ckpt_1.ckpt", weights_only=False)
    # The step that was running when the signal came finished first: a whole step is saved.
    assert saved["global_step"] == SIGNALLED_AT_STEP + 1
    assert under_slurm.read_text() == "requeue 4242\n"
    # Nothing ran past the checkpoint: the run directory holds no later checkpoint.
    assert not list((in_tmp_dir / "runs").rglob("epoch*.ckpt"))
    assert (
        "Requeued SLURM job 4242; it resumes from runs/job/hpc_ckpt_1.ckpt"
        in capsys.readouterr().out
    )


def test_requeued_job_resumes_from_the_checkpoint(in_tmp_dir: Path, under_slurm: Path) -> None:
    _preempted_fit()
    resumed = build(FIT)  # the same job id and run directory, as after `scontrol requeue`
    assert resumed.trainer.ckpt_path == str(Path("runs/job/hpc_ckpt_1.ckpt"))
    assert resumed.trainer.global_step == 6  # the epoch's six steps in all, none repeated


def test_checkpoint_names_count_up_as_lightning_expects(tmp_path: Path) -> None:
    assert preemption.next_hpc_checkpoint(tmp_path).name == "hpc_ckpt_1.ckpt"
    (tmp_path / "hpc_ckpt_1.ckpt").touch()
    (tmp_path / "hpc_ckpt_7.ckpt").touch()
    assert preemption.next_hpc_checkpoint(tmp_path).name == "hpc_ckpt_8.ckpt"


def test_without_a_requeue_training_goes_on(
    in_tmp_dir: Path, under_slurm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "PATH", "/nonexistent"
    )  # no scontrol: the checkpoint is kept, the run goes on
    cli = build(FIT, callbacks=[SignalDuringStep()])
    assert (in_tmp_dir / "runs/job/hpc_ckpt_1.ckpt").exists()
    assert cli.trainer.global_step == 6
