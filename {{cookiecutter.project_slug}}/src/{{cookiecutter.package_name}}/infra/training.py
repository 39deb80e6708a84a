"""LightningCLI in subclass mode: the model and data classes come from config.yaml or the command line.

What this needs from your code is configuration, never an import:
- `model.class_path` and `data.class_path` (config.yaml, or `--model CLASS --data CLASS`): any
  LightningModule and LightningDataModule, with their arguments as `--model.NAME` and `--data.NAME`;
- `checkpoint.monitor` and `checkpoint.mode` (config.yaml, or `--checkpoint.monitor val/loss
  --checkpoint.mode min`): a metric your module logs, which picks the best checkpoint (and is the
  sweep's objective unless the sweep file names another);
- optionally a `compile` argument of your module: the compile preset sets it, and the start-up check
  makes sure this machine can compile.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from jsonargparse import ArgumentError, Namespace
{%- if cookiecutter.slurm == "yes" %}
from lightning.fabric.plugins.environments.slurm import SLURMEnvironment
{%- endif %}
from lightning.pytorch import Callback, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint, ProgressBar
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from {{ cookiecutter.package_name }}.infra import (
    ckpt_path,
    cluster,
    defaults,
    loading,
    presets,
    quiet,
    resume,
    trainer_values,
    writable,
)
from {{ cookiecutter.package_name }}.infra.errors import Refusal
from {{ cookiecutter.package_name }}.infra.parse_errors import one_line
{%- if cookiecutter.slurm == "yes" %}
from {{ cookiecutter.package_name }}.infra.preemption import RequeueOnSignal
{%- endif %}
from {{ cookiecutter.package_name }}.infra.progress import LiveLossProgressBar
from {{ cookiecutter.package_name }}.infra.provenance import RunProvenance

PROG = "python -m {{ cookiecutter.package_name }}"
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
        # The metric and its mode come from config.yaml: they depend on what your module logs.
        parser.add_class_arguments(ModelCheckpoint, "checkpoint", instantiate=True)
        parser.set_defaults(
            {
                "checkpoint.save_last": False,  # see latest_checkpoint() for last.ckpt
                "checkpoint.auto_insert_metric_name": False,
            }
        )

    def _parse_ckpt_path(self) -> None:
        # LightningCLI reads the hyperparameters of --ckpt_path here: check the file first.
        subcommand = self.config.get("subcommand")
        if subcommand:
            ckpt_path.check(self.config[subcommand].get("ckpt_path"), subcommand)
        super()._parse_ckpt_path()

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand] if self.subcommand else self.config
        trainer = config.trainer
        trainer_values.check(trainer)
        for section in ("model", "data"):
            if isinstance(config.get(section), Namespace):
                plain_numbers(config[section])
        model_arguments = config.model.get("init_args") if config.get("model") else None
        trainer.num_nodes = cluster.check_start(
            trainer.accelerator,
            trainer.devices,
            trainer.precision,
            trainer.strategy,
            trainer.num_nodes,
            compile_model=bool(model_arguments and model_arguments.get("compile")),
        )
        torch.set_float32_matmul_precision(config.float32_matmul_precision)
        checkpoint = config.checkpoint
        if checkpoint.filename is None and checkpoint.monitor:
            checkpoint.filename = checkpoint_filename(checkpoint.monitor)
        if trainer.fast_dev_run:
            trainer.logger = False  # fast_dev_run would replace them; some write files on creation
        if self.subcommand == "fit":
            self._resume(config)

    def before_fit(self) -> None:
        self._before_processes_start()

    def before_validate(self) -> None:
        self._before_processes_start()

    def before_test(self) -> None:
        self._before_processes_start()

    def before_predict(self) -> None:
        self._before_processes_start()

    def _before_processes_start(self) -> None:
        """Checks of the built trainer and data, in the first process before it starts the others
        and before the run folder exists: a refusal here is one line, and nothing is written."""
        processes = self.trainer.num_nodes * self.trainer.num_devices
        global_batch = getattr(self.datamodule, "global_batch_size", None)
        if isinstance(global_batch, int):
            loading.check_global_batch(global_batch, processes)
        logger = self.trainer.logger
        save_dir = getattr(logger, "save_dir", None) if logger else None
        if save_dir is not None:
            writable.check(Path(save_dir))

    def _resume(self, config: Namespace) -> None:
        """Point ckpt_path and the logger's version at the run that --resume picks."""
        if config.resume != "never" and config.ckpt_path is not None:
            raise Refusal("give either --resume or --ckpt_path, not both")
        logger = config.trainer.logger
        first = logger[0] if isinstance(logger, list) and logger else logger  # the run directory's
        arguments = first.get("init_args") if isinstance(first, Namespace) else None
        if config.resume == "never":
            return
        if arguments is None or "version" not in arguments:
            raise Refusal("--resume needs a logger with versioned run folders (TensorBoard or CSV)")
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
{%- if cookiecutter.slurm == "yes" %}
        launch = cluster.detect()
        if launch is not None and launch.launcher == "SLURM":
            # On SIGUSR1, checkpoint and requeue at a step all ranks agree on (preemption.py),
            # instead of in Lightning's signal handler, which can hang DDP.
            callbacks.append(RequeueOnSignal())
            plugins = trainer.get("plugins") or []
            plugins = list(plugins) if isinstance(plugins, list) else [plugins]
            kwargs["plugins"] = [*plugins, SLURMEnvironment(auto_requeue=False)]
{%- endif %}
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


def plain_numbers(arguments: Namespace) -> None:
    """Hand the classes plain ints and floats where their types checked a range (PositiveInt).

    The checked types are subclasses of int and float: kept, they would be pickled into the
    checkpoint's hyperparameters, which torch.load(weights_only=True) then refuses to read.
    """
    for key, value in list(arguments.items()):
        for number in (int, float):
            if isinstance(value, number) and type(value) not in (number, bool):
                arguments[key] = number(value)


def checkpoint_filename(monitor: str) -> str:
    """The best checkpoint's name pattern, with the epoch and the monitored value (epoch003-val_acc0.9712)."""
    return "epoch{epoch:03d}-" + monitor.replace("/", "_") + "{" + monitor + ":.4f}"


def latest_checkpoint() -> ModelCheckpoint:
    """checkpoints/last.ckpt, rewritten after every epoch: what `--resume auto` continues from.

    ModelCheckpoint's own save_last only rewrites it when the monitored metric improves.
    """
    return ModelCheckpoint(
        filename="last", monitor=None, save_top_k=1, enable_version_counter=False
    )


def build(args: list[str], run: bool = True, callbacks: Sequence[Callback] = ()) -> TrainingCLI:
    """Parse `args` (presets expanded) and, with `run`, execute the subcommand.

    `callbacks` join the trainer's own; the sweep passes one that reports to its trial. Without
    `run`, `args` hold no subcommand: the model, data and trainer are built and returned unused.
    """
    quiet.install()
    files = {"default_config_files": [str(path) for path in defaults.FILES]}
    parser_kwargs: dict[str, Any] = {"prog": PROG}
    if run:
        parser_kwargs.update({command: files for command in SUBCOMMANDS})
    else:
        parser_kwargs.update(files)
    # Parse errors come back as exceptions, so each is one line (parse_errors.py), not a usage text.
    parser_kwargs["exit_on_error"] = False
    try:
        return TrainingCLI(
            # Subclass mode: any LightningModule and LightningDataModule, named in the configuration.
            model_class=None,
            datamodule_class=None,
            seed_everything_default=0,
            trainer_defaults={"callbacks": list(callbacks)} if callbacks else None,
            # A requeued SLURM job resumes into its own run directory, saving the same config again.
            save_config_kwargs={"overwrite": True},
            parser_kwargs=parser_kwargs,
            # Presets go after a subcommand; without one, expand them as if after `fit`.
            args=presets.expand(args) if run else presets.expand(["fit", *args])[1:],
            run=run,
        )
    except ArgumentError as error:
        command = next((arg for arg in args if arg in SUBCOMMANDS), "fit") if run else "fit"
        raise Refusal(
            one_line(str(error), f"`{PROG} {command} --help` lists the options and their types")
        ) from None
