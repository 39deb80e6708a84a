"""Checkpoint and requeue a SLURM job that is told to stop, at a step every process agrees on.

SLURM sends SIGUSR1 shortly before a job's time limit (`#SBATCH --signal=USR1@90`) and, on many
clusters, before preempting it. Lightning's own handler (`SLURMEnvironment(auto_requeue=True)`)
saves the checkpoint inside the signal handler, which may run while one rank is in the middle of a
collective and another is already waiting in the next one: DDP then hangs until SLURM kills the job
(Lightning issue #21406; this project's SLURM test ran into it). Here the handler only notes the
signal. After each training step the ranks exchange their notes with a small all-reduce on the CPU,
started after one step and read after the next, so nothing waits on the GPU; one step after any
rank was signalled, all ranks save one checkpoint together, rank 0 requeues the job, and all of them
exit, so that nothing runs past the checkpoint.

The requeued job starts over with the same job id and so the same `trainer.default_root_dir`, where
Lightning finds the newest `hpc_ckpt_N.ckpt` and resumes from it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import torch
import torch.distributed as dist
from lightning.pytorch import Callback, LightningModule, Trainer

HPC_CHECKPOINT = re.compile(r"hpc_ckpt_(\d+)\.ckpt")


def next_hpc_checkpoint(folder: str | Path) -> Path:
    """hpc_ckpt_N.ckpt with N one past the newest there: the name Lightning resumes from."""
    numbers = [
        int(match.group(1))
        for path in Path(folder).glob("hpc_ckpt_*.ckpt")
        if (match := HPC_CHECKPOINT.fullmatch(path.name))
    ]
    return Path(folder) / f"hpc_ckpt_{max(numbers, default=0) + 1}.ckpt"


def slurm_job_id() -> str:
    """The id `scontrol requeue` takes: ARRAYID_TASK for a task of a job array."""
    array_job = os.environ.get("SLURM_ARRAY_JOB_ID")
    if array_job is not None:
        return f"{array_job}_{os.environ['SLURM_ARRAY_TASK_ID']}"
    return os.environ["SLURM_JOB_ID"]


def requeue(job: str, checkpoint: Path) -> tuple[bool, str]:
    """Ask SLURM to requeue `job`; whether it did, and a line saying what happened."""
    try:
        result = subprocess.run(["scontrol", "requeue", job], capture_output=True, text=True)
    except FileNotFoundError:
        return False, f"Saved {checkpoint}, but scontrol is not on PATH: requeue job {job} yourself"
    if result.returncode != 0:
        error = result.stderr.strip()
        return False, f"Saved {checkpoint}, but could not requeue job {job}: {error}"
    return True, f"Requeued SLURM job {job}; it resumes from {checkpoint}"


class RequeueOnSignal(Callback):
    """On SIGUSR1, checkpoint after the next training step on every rank, then requeue the job."""

    def __init__(self, signum: signal.Signals = signal.SIGUSR1) -> None:
        self.signum = signum
        self.signalled = False
        self.done = False
        self._previous_handler: Any = None
        self._group: dist.ProcessGroup | None = None
        self._exchange: tuple[dist.Work, torch.Tensor] | None = None

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self.signalled = True  # nothing more: a handler may interrupt any step, collectives too

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        if threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.signal(self.signum, self._note)
        if trainer.world_size > 1:
            # Every rank creates it here, in the same order; gloo keeps the exchange off the GPU.
            self._group = dist.new_group(backend="gloo")

    def _restore_handler(self) -> None:
        if self._previous_handler is not None:
            signal.signal(self.signum, self._previous_handler)
            self._previous_handler = None

    def teardown(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        self._restore_handler()

    def on_exception(
        self, trainer: Trainer, pl_module: LightningModule, exception: BaseException
    ) -> None:
        self._restore_handler()  # Lightning skips the teardown hooks when fit ends in an exception

    def _all_agree_to_stop(self) -> bool:
        """Whether any rank was signalled as of the previous step; the same answer on every rank."""
        if self._group is None:
            return self.signalled
        agreed = False
        if self._exchange is not None:
            work, flag = self._exchange
            work.wait()
            agreed = bool(flag.item())
        flag = torch.tensor([int(self.signalled)])
        work = dist.all_reduce(flag, op=dist.ReduceOp.MAX, group=self._group, async_op=True)
        assert work is not None
        self._exchange = (work, flag)
        return agreed

    def on_train_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        if self.done or not self._all_agree_to_stop():
            return
        self.done = True
        checkpoint = next_hpc_checkpoint(trainer.default_root_dir)
        trainer.save_checkpoint(checkpoint)  # every rank calls it; rank 0 writes
        requeued = False
        if trainer.is_global_zero:
            requeued, message = requeue(slurm_job_id(), checkpoint)
            print(message, flush=True)
        # Every rank is at this same step, so this collective is safe, and all of them stop
        # together: nothing runs past the checkpoint. Without a requeue, training goes on.
        if trainer.strategy.broadcast(requeued):
            raise SystemExit(0)
