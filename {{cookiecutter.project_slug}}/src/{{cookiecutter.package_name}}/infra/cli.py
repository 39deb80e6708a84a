"""The command line: LightningCLI's fit/validate/test/predict, with presets and a hardware check first.

python -m {{ cookiecutter.package_name }} fit --preset gpu --preset bf16 --trainer.max_epochs 20
python -m {{ cookiecutter.package_name }} fit --print_config   # the merged configuration
python -m {{ cookiecutter.package_name }} presets              # what each preset does
python -m {{ cookiecutter.package_name }} doctor               # this machine, packages, presets
python -m {{ cookiecutter.package_name }} sweep --trials 20    # an Optuna sweep (sweep.py)
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

import torch
from jsonargparse import Namespace
from lightning.fabric.plugins.environments.slurm import SLURMEnvironment
from lightning.pytorch import Callback, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint, ProgressBar
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from {{ cookiecutter.package_name }} import bench, cluster, doctor, hardware, presets, resume
from {{ cookiecutter.package_name }}.data import DigitsDataModule
from {{ cookiecutter.package_name }}.module import Classifier
from {{ cookiecutter.package_name }}.preemption import RequeueOnSignal
from {{ cookiecutter.package_name }}.progress import LiveLossProgressBar
from {{ cookiecutter.package_name }}.provenance import RunProvenance

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
        parser.add_argument(
            "--resume",
            choices=resume.MODES,
            default="never",
            help="fit only: 'auto' continues the latest run from its last.ckpt (an error if there "
            "is none); 'auto-or-fresh' starts a new run when there is none.",
        )
        # Configurable as --checkpoint.*, and added to the trainer only when checkpointing is on.
        parser.add_class_arguments(ModelCheckpoint, "checkpoint", instantiate=True)
        parser.set_defaults(
            {
                "checkpoint.monitor": "val/acc",
                "checkpoint.mode": "max",
                "checkpoint.save_last": False,  # see latest_checkpoint() for last.ckpt
                "checkpoint.filename": "epoch{epoch:03d}-val_acc{val/acc:.4f}",
                "checkpoint.auto_insert_metric_name": False,
            }
        )

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand] if self.subcommand else self.config
        trainer = config.trainer
        launch = cluster.detect()
        trainer.num_nodes = cluster.resolve_num_nodes(trainer.num_nodes, launch)
        hardware.check(
            trainer.accelerator,
            trainer.devices,
            trainer.precision,
            strategy=trainer.strategy,
            num_nodes=trainer.num_nodes,
            compile_model=config.model.compile,
        )
        cluster.check(trainer.accelerator, trainer.devices, trainer.num_nodes, launch)
        torch.set_float32_matmul_precision(config.float32_matmul_precision)
        if trainer.fast_dev_run:
            trainer.logger = False  # fast_dev_run would replace them; some write files on creation
        if self.subcommand == "fit":
            self._resume(config)

    def _resume(self, config: Namespace) -> None:
        """Point ckpt_path and the logger's version at the run that --resume picks."""
        if config.resume != "never" and config.ckpt_path is not None:
            raise resume.ResumeError("give either --resume or --ckpt_path, not both")
        logger = config.trainer.logger
        first = logger[0] if isinstance(logger, list) and logger else logger  # the run directory's
        arguments = first.get("init_args") if isinstance(first, Namespace) else None
        if config.resume == "never":
            return
        if arguments is None or "version" not in arguments:
            raise resume.ResumeError(
                "--resume needs a logger with versioned run folders (TensorBoard or CSV)"
            )
        found = resume.find(config.resume, Path(arguments.save_dir) / arguments.name)
        if found is not None:
            arguments.version, config.ckpt_path = found[0], str(found[1])
            self.save_config_kwargs["overwrite"] = True  # the resumed run's config.yaml
            print(f"Resuming version_{found[0]} from {found[1]}")

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        trainer = self._get(self.config_init, "trainer", default={})
        callbacks = trainer.get("callbacks") or []
        callbacks = list(callbacks) if isinstance(callbacks, list) else [callbacks]
        # fast_dev_run turns logging and checkpoints off; a checkpoint folder would be left empty.
        if trainer.get("enable_checkpointing") is not False and not trainer.get("fast_dev_run"):
            callbacks += [self._get(self.config_init, "checkpoint"), latest_checkpoint()]
        if trainer.get("logger") and not trainer.get("fast_dev_run"):
            config = self.config.get(str(self.subcommand), self.config)
            # The same text SaveConfigCallback writes to config.yaml, so their hashes agree.
            dumped = self._parser(self.subcommand).dump(config, skip_none=False)
            callbacks.append(RunProvenance(config.seed_everything, dumped))
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


def latest_checkpoint() -> ModelCheckpoint:
    """checkpoints/last.ckpt, rewritten after every epoch: what `--resume auto` continues from.

    ModelCheckpoint's own save_last only rewrites it when the monitored metric improves.
    """
    return ModelCheckpoint(
        filename="last", monitor=None, save_top_k=1, enable_version_counter=False
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
    # Imported here: it imports Optuna, which the other commands do without.
    from {{ cookiecutter.package_name }} import sweep

    sweep.main(args)


# The project's own subcommands, beside LightningCLI's fit/validate/test/predict.
COMMANDS: dict[str, Callable[[list[str]], None]] = {
    "presets": print_presets,
    "bench": bench.main,
    "doctor": doctor.main,
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
    except (
        presets.PresetError,
        hardware.HardwareError,
        resume.ResumeError,
        cluster.LaunchError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    # Under torchrun or srun the process group outlives fit; left to the interpreter's exit, its
    # gloo threads can abort the process (seen as SIGABRT in the torchrun test).
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
