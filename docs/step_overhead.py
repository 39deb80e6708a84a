"""What each part of a baked project's training loop costs per step, on a CPU.

Run inside a baked project's environment, from its folder:

    python path/to/fsdl-template/docs/step_overhead.py [--steps 400] [--repeats 3]

It trains the project's configured model on its own data loader, as `bench`'s project workload
does, in loops that add one part at a time: a plain PyTorch loop; Lightning alone; its fixes to
`self.log` and to the hook name set around each hook call; the project's logger; the progress bar
as Lightning draws it (a redraw after every step) and as the project draws it (at most ten a
second); the checkpoint and provenance callbacks of `fit`. Each loop's time is the process's CPU
time over the timed steps, with one thread, so other work on a shared machine counts less than in
wall time; the table shows the best of the repeats.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.trainer.connectors.logger_connector.result import _ResultMetric
from torch import nn

Loop = Callable[[], float]
# What Lightning releases, read before any of the project's fixes is installed (building the
# project's workload installs them all, as every training command does).
RELEASED: dict[tuple[type, str], Any] = {
    (_ResultMetric, "to"): _ResultMetric.to,
    (LightningModule, "__setattr__"): nn.Module.__setattr__,
}


def project_modules() -> tuple[Any, Any, Any, Any, Any, Any]:
    """The baked package's bench, checkpoints, lightning_fixes, progress, provenance and
    lightning_cli modules (its name varies)."""
    (package,) = (
        entry.name
        for entry in os.scandir("src")
        if os.path.exists(os.path.join(entry.path, "infra", "tools", "bench.py"))
    )
    # Lightning's advertisements and known-harmless warnings dropped, as in the project's commands.
    importlib.import_module(f"{package}.infra.training.quiet").install()
    return tuple(  # type: ignore[return-value]
        importlib.import_module(f"{package}.infra.{name}")
        for name in (
            "tools.bench",
            "runs.checkpoints",
            "training.lightning_fixes",
            "training.progress",
            "runs.provenance",
            "training.lightning_cli",
        )
    )


class CPUTimer(Callback):
    """CPU time of the steps after `warmup`, per step."""

    def __init__(self, warmup: int, steps: int) -> None:
        self.warmup, self.steps = warmup, steps
        self.start = self.per_step = 0.0

    def on_train_batch_start(self, trainer: Trainer, *_: Any) -> None:
        if trainer.global_step == self.warmup:
            self.start = time.process_time()

    def on_train_batch_end(self, trainer: Trainer, *_: Any) -> None:
        if trainer.global_step == self.warmup + self.steps:
            self.per_step = (time.process_time() - self.start) / self.steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    torch.set_num_threads(1)
    bench, checkpoints, lightning_fixes, progress, provenance, training = project_modules()
    workload = bench.project_workload([])
    warmup: int = options.warmup
    steps: int = options.steps

    def plain() -> float:
        module = workload.make_module().train()
        optimizer = bench.optimizer_for(module)
        batches = bench.endless(workload.make_loader())
        start = 0.0
        for step in range(warmup + steps):
            if step == warmup:
                start = time.process_time()
            loss = module.training_step(next(batches), step)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return (time.process_time() - start) / steps

    def lightning(fixes: int, logger: bool, bar: Callback | None, fit_callbacks: bool) -> Loop:
        """Lightning's loop with the first `fixes` of the project's fixes (self.log, hook name)."""

        def loop() -> float:
            with (
                fixed(_ResultMetric, "to", lightning_fixes.skip_needless_moves, fixes >= 1),
                fixed(
                    LightningModule,
                    "__setattr__",
                    lightning_fixes.store_hook_names_directly,
                    fixes >= 2,
                ),
            ):
                return lightning_loop(logger, bar, fit_callbacks)

        return loop

    @contextlib.contextmanager
    def fixed(owner: type, name: str, install: Callable[[], None], on: bool) -> Iterator[None]:
        """`owner.name` as Lightning releases it, or with the fix that `install` applies."""
        saved = getattr(owner, name)
        setattr(owner, name, RELEASED[owner, name])
        if on:
            install()
        try:
            yield
        finally:
            setattr(owner, name, saved)

    def lightning_loop(logger: bool, bar: Callback | None, fit_callbacks: bool) -> float:
        timer = CPUTimer(warmup, steps)
        callbacks: list[Callback] = [timer, *([bar] if bar else [])]
        with tempfile.TemporaryDirectory() as folder, contextlib.chdir(folder):
            if fit_callbacks:
                checkpoint = training.ModelCheckpoint(monitor="train/loss", mode="min")
                callbacks += [checkpoint, checkpoints.LastCheckpoint()]
                callbacks.append(provenance.RunProvenance(0, "{}"))
            trainer = Trainer(
                accelerator="cpu",
                devices=1,
                max_steps=warmup + steps + 1,
                logger=bench.project_loggers(folder) if logger else False,
                log_every_n_steps=workload.log_every_n_steps,
                callbacks=callbacks,
                enable_checkpointing=fit_callbacks,
                enable_progress_bar=bar is not None,
                enable_model_summary=False,
                num_sanity_val_steps=0,
                limit_val_batches=0,
            )
            with bench.out_of_sight():
                trainer.fit(workload.make_module(), train_dataloaders=workload.make_loader())
        return float(timer.per_step)

    @contextlib.contextmanager
    def redraw_limit(seconds: float) -> Iterator[None]:
        saved, progress.REDRAW_SECONDS = progress.REDRAW_SECONDS, seconds
        try:
            yield
        finally:
            progress.REDRAW_SECONDS = saved

    throttle = progress.REDRAW_SECONDS
    loops: dict[str, Callable[[], float]] = {
        "plain PyTorch loop": plain,
        "Lightning alone, as released": lightning(0, False, None, False),
        "+ self.log fix": lightning(1, False, None, False),
        "+ hook-name fix": lightning(2, False, None, False),
        "+ logger": lightning(2, True, None, False),
        "+ bar, redrawn every step": lightning(2, True, progress.LiveLossProgressBar(), False),
        "+ bar, redrawn <= 10/s": lightning(2, True, progress.LiveLossProgressBar(), False),
        "+ checkpoints, provenance": lightning(2, True, progress.LiveLossProgressBar(), True),
    }
    best: dict[str, float] = {}
    for _ in range(options.repeats):
        for name, loop in loops.items():
            seconds = 0.0 if name == "+ bar, redrawn every step" else throttle
            with redraw_limit(seconds):
                best[name] = min(best.get(name, float("inf")), loop())
    plain_time = best["plain PyTorch loop"]
    print(f"{'loop':28} {'ms/step':>8} {'ratio':>6}")
    for name, per_step in best.items():
        print(f"{name:28} {per_step * 1e3:8.3f} {plain_time / per_step:6.3f}")


if __name__ == "__main__":
    main()
