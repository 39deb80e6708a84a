"""The command line: LightningCLI's fit/validate/test/predict, with presets and a hardware check first.

python -m {{ cookiecutter.package_name }} fit --preset gpu --preset bf16 --trainer.max_epochs 20
python -m {{ cookiecutter.package_name }} fit --print_config          # the merged configuration
python -m {{ cookiecutter.package_name }} presets                     # what each preset does
python -m {{ cookiecutter.package_name }} sweep --trials 20           # an Optuna sweep (sweep.py)
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Sequence
from importlib.resources import files
from typing import Any

import torch
from lightning.fabric.plugins.environments.slurm import SLURMEnvironment
from lightning.pytorch import Callback, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint, ProgressBar
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from {{ cookiecutter.package_name }} import cluster, hardware, presets
from {{ cookiecutter.package_name }}.data import DigitsDataModule
from {{ cookiecutter.package_name }}.module import Classifier
from {{ cookiecutter.package_name }}.preemption import RequeueOnSignal
from {{ cookiecutter.package_name }}.progress import LiveLossProgressBar

DEFAULTS = str(files(__package__) / "defaults.yaml")
SUBCOMMANDS = ("fit", "validate", "test", "predict")


class TrainingCLI(LightningCLI):
    """LightningCLI with the project's defaults, best-checkpoint tracking and a preflight check."""

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument(
            "--float32_matmul_precision",
            choices=["highest", "high", "medium"],
            default="highest",
            help="'high' lets float32 matmuls use TF32 on GPUs that have it (the gpu and ddp presets do).",
        )
        # Configurable as --checkpoint.*, and added to the trainer only when checkpointing is on.
        parser.add_class_arguments(ModelCheckpoint, "checkpoint", instantiate=True)
        parser.set_defaults(
            {
                "checkpoint.monitor": "val/acc",
                "checkpoint.mode": "max",
                "checkpoint.save_last": True,
                "checkpoint.filename": "epoch{epoch:03d}-val_acc{val/acc:.4f}",
                "checkpoint.auto_insert_metric_name": False,
            }
        )

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand] if self.subcommand else self.config
        trainer = config.trainer
        hardware.check(trainer.accelerator, trainer.devices, trainer.precision)
        launch = cluster.detect()
        trainer.num_nodes = cluster.resolve_num_nodes(trainer.num_nodes, launch)
        cluster.check(trainer.accelerator, trainer.devices, trainer.num_nodes, launch)
        torch.set_float32_matmul_precision(config.float32_matmul_precision)

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        trainer = self._get(self.config_init, "trainer", default={})
        callbacks = trainer.get("callbacks") or []
        callbacks = list(callbacks) if isinstance(callbacks, list) else [callbacks]
        # fast_dev_run turns logging and checkpoints off; a checkpoint folder would be left empty.
        if trainer.get("enable_checkpointing") is not False and not trainer.get("fast_dev_run"):
            callbacks.append(self._get(self.config_init, "checkpoint"))
        has_bar = any(isinstance(callback, ProgressBar) for callback in callbacks)
        if trainer.get("enable_progress_bar") is not False and not has_bar:
            callbacks.append(LiveLossProgressBar())
        launch = cluster.detect()
        if launch is not None and launch.launcher == "SLURM":
            # On SIGUSR1, checkpoint and requeue at a step all ranks agree on (preemption.py),
            # instead of in Lightning's signal handler, which can hang DDP.
            callbacks.append(RequeueOnSignal())
            plugins = trainer.get("plugins") or []
            plugins = list(plugins) if isinstance(plugins, list) else [plugins]
            kwargs["plugins"] = [*plugins, SLURMEnvironment(auto_requeue=False)]
        return super().instantiate_trainer(callbacks=callbacks, **kwargs)

    def after_fit(self) -> None:
        if self.trainer.logger is None:
            return
        run_directory = self.trainer.log_dir  # a collective call under DDP: every rank must make it
        checkpoint = self.trainer.checkpoint_callback
        if self.trainer.is_global_zero:
            print(f"Run directory: {run_directory}")
            if isinstance(checkpoint, ModelCheckpoint) and checkpoint.best_model_path:
                print(
                    f"Best checkpoint: {checkpoint.best_model_path} ({checkpoint.best_model_score:.4f})"
                )


def build(args: list[str], run: bool = True, callbacks: Sequence[Callback] = ()) -> TrainingCLI:
    """Parse `args` (presets expanded) and, with `run`, execute the subcommand.

    `callbacks` join the trainer's own; the sweep passes one that reports to its trial.
    """
    return TrainingCLI(
        Classifier,
        DigitsDataModule,
        seed_everything_default=0,
        trainer_defaults={"callbacks": list(callbacks)} if callbacks else None,
        # A requeued SLURM job resumes into its own run directory and saves the same config again.
        save_config_kwargs={"overwrite": True},
        parser_kwargs={command: {"default_config_files": [DEFAULTS]} for command in SUBCOMMANDS},
        args=presets.expand(args),
        run=run,
    )


def print_presets(args: list[str]) -> None:
    """`presets`: each preset's name and one-line description."""
    for name, description in presets.available().items():
        print(f"{name:10} {description}")


def run_sweep(args: list[str]) -> None:
    """`sweep`: an Optuna study over the arguments of `fit` (sweep.py)."""
    from {{ cookiecutter.package_name }} import sweep  # imports Optuna, which the other commands skip

    sweep.main(args)


# The project's own subcommands, beside LightningCLI's fit/validate/test/predict.
COMMANDS: dict[str, Callable[[list[str]], None]] = {
    "presets": print_presets,
    "sweep": run_sweep,
}


def main(args: list[str] | None = None) -> None:
    """Entry point of `python -m {{ cookiecutter.package_name }}` and the console script."""
    argv = sys.argv[1:] if args is None else args
    if argv[:1] and argv[0] in COMMANDS:
        COMMANDS[argv[0]](argv[1:])
        return
    # We hand LightningCLI the command line after expanding presets; its "args and sys.argv" warning
    # is for callers that pass unrelated arguments, which is not the case here.
    warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
    try:
        build(argv)
    except (presets.PresetError, hardware.HardwareError, cluster.LaunchError) as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    # Under torchrun or srun the process group outlives fit; left to the interpreter's exit, its
    # gloo threads can abort the process (seen as SIGABRT in the torchrun test).
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
