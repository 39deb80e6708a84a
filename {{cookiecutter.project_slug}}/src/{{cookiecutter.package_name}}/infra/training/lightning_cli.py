"""LightningCLI in subclass mode: the model and data classes come from config.yaml or the command line.

What this needs from your code is configuration, never an import:
- `model.class_path` and `data.class_path` (config.yaml, or `--model CLASS --data CLASS`): any
  LightningModule and LightningDataModule, with their arguments as `--model.NAME` and `--data.NAME`;
- `checkpoint.monitor` and `checkpoint.mode` (config.yaml, or `--checkpoint.monitor val/loss
  --checkpoint.mode min`): a metric your module logs, which picks the best checkpoint (and is the
  sweep's objective unless the sweep file names another);
- nothing else: the presets (compile included, see compiling.py) work on any module and data.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from enum import Enum
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
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.plugins.io import CheckpointIO

from {{ cookiecutter.package_name }}.infra.command_line import (
    config_files,
    credentials,
    defaults,
    presets,
)
from {{ cookiecutter.package_name }}.infra.command_line.errors import RANK_VARIABLES, Refusal
from {{ cookiecutter.package_name }}.infra.command_line.parser import PROG, SUBCOMMANDS
from {{ cookiecutter.package_name }}.infra.machine import cluster, shared_gpus
{%- if cookiecutter.slurm == "yes" %}
from {{ cookiecutter.package_name }}.infra.machine.preemption import RequeueOnSignal
{%- endif %}
from {{ cookiecutter.package_name }}.infra.records import ckpt_path, fingerprints, resume
from {{ cookiecutter.package_name }}.infra.records import folders as runs
from {{ cookiecutter.package_name }}.infra.records.checkpoints import (
    AtomicCheckpointIO,
    LastCheckpoint,
)
from {{ cookiecutter.package_name }}.infra.records.predictions import PredictionsFile
from {{ cookiecutter.package_name }}.infra.records.provenance import (
    RunProvenance,
    changed_arguments,
    last_data,
)
from {{ cookiecutter.package_name }}.infra.records.recorder import RunRecorder
from {{ cookiecutter.package_name }}.infra.training import (
    classes,
    compiling,
    lightning_fixes,
    logging_interval,
    refusals,
)
from {{ cookiecutter.package_name }}.infra.training import batched_loading as loading
from {{ cookiecutter.package_name }}.infra.training.interrupt import StopOnCtrlC
from {{ cookiecutter.package_name }}.infra.training.progress import LiveLossProgressBar
from {{ cookiecutter.package_name }}.infra.training.random_states import RandomStates

# `--ckpt_path untrained`: validate, test or predict the model's initial weights, on purpose.
UNTRAINED = "untrained"


class TrainingCLI(LightningCLI):
    """LightningCLI with the project's defaults, best-checkpoint tracking and a preflight check.

    Every command writes into a run folder of its own (records/folders.py), or into the run it resumes.
    """

    # Tells a failure of the model's first step on the data's first batch from the others.
    first_step: classes.FirstStep
    # The run `fit --resume` continues: (version, last.ckpt), and what that checkpoint holds.
    resuming: tuple[int, Path] | None = None
    resumed_state: dict[str, Any] = {}
    # What sets this run apart from a plain one, for provenance.json: its presets, and the
    # arguments (flags, --config files) that changed what those presets and the defaults give.
    presets_used: list[str] = []
    arguments: dict[str, Any] = {}
    # The data's fingerprint (fingerprints.of_data), read in the first process before it starts.
    data_identity: dict[str, Any] | None = None
    provenance: RunProvenance | None = None  # the callback that writes provenance.json, if any

    def __init__(self, *args: Any, commands: Sequence[str] = SUBCOMMANDS, **kwargs: Any) -> None:
        self.commands = tuple(commands)
        self.first_step = classes.FirstStep()
        kwargs["parser_class"] = PlainNumbersParser  # whose every dump writes plain numbers
        super().__init__(*args, **kwargs)

    def subcommands(self) -> dict[str, set[str]]:  # type: ignore[override]
        """The subcommands that get a parser (by default all four of LightningCLI)."""
        every = LightningCLI.subcommands()
        return {name: every[name] for name in self.commands}

    def add_default_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        super().add_default_arguments_to_parser(parser)
        shared_gpus.add_arguments(parser)  # --gpus.count, --gpus.when_busy

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument(
            "--float32_matmul_precision",
            choices=["highest", "high", "medium"],
            default="highest",
            help="'high' lets float32 matmuls use TF32 on GPUs that have it (the gpu and ddp presets do).",
        )
        parser.add_argument(
            "--compile",
            type=bool,
            default=False,
            help="compile the LightningModule's forward with torch.compile before its first step "
            "(the compile preset sets it): a slower start, faster steps.",
        )
        parser.add_argument(
            "--resume",
            choices=resume.MODES,
            default="never",
            help="fit only: 'auto' continues the latest run from its last.ckpt (an error if there "
            "is none), with that run's own config.yaml; 'auto-or-fresh' starts a new run when "
            "there is none.",
        )
        parser.add_argument(
            "--resume_on_changed_data",
            type=bool,
            default=False,
            help="fit --resume only: continue the run even though its data's fingerprint changed "
            "(provenance records the new one).",
        )
        # Configurable as --checkpoint.*, and added to the trainer only when checkpointing is on.
        # The metric and its mode come from config.yaml: they depend on what your module logs.
        parser.add_class_arguments(ModelCheckpoint, "checkpoint", instantiate=True)
        parser.set_defaults(
            {
                "checkpoint.save_last": False,  # see LastCheckpoint for last.ckpt
                "checkpoint.auto_insert_metric_name": False,
            }
        )

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        """Parse; for `fit --resume`, parse again on top of the resumed run's own config.yaml."""
        super().parse_arguments(parser, args)
        if self.config.get("subcommand") != "fit" or self.config.fit.resume == "never":
            return
        config = self.config.fit
        if config.ckpt_path is not None:
            raise Refusal("give either --resume or --ckpt_path, not both")
        self.resuming = resume.find(config.resume, run_root(config))
        if self.resuming is None:
            return
        saved = self.resuming[1].parent.parent / "config.yaml"
        if not saved.is_file():
            raise Refusal(f"cannot resume {saved.parent}: it has no config.yaml; start a new run")
        self.resumed_state = resume.check_readable(self.resuming[1])  # before even the lock file
        at = list(args).index("fit") + 1  # the run's own file first; flags given now win over it
        super().parse_arguments(parser, [*args[:at], "--config", str(saved), *args[at:]])
        original = parser.parse_args(["fit", "--config", str(saved)])
        resume.check_unchanged(self.config.fit.as_dict(), original.fit.as_dict(), saved)

    def _parse_ckpt_path(self) -> None:
        # LightningCLI reads the hyperparameters of --ckpt_path here: find and check the file first.
        subcommand = self.config.get("subcommand")
        config = self.config[subcommand] if subcommand else None
        if config is not None and config.get("ckpt_path") != UNTRAINED:
            given = config.get("ckpt_path")
            if given in ckpt_path.NEWEST and subcommand != "fit":
                root = run_root(config, f"--ckpt_path {given}")
                config.ckpt_path = str(ckpt_path.newest(given, subcommand, root))
            ckpt_path.check(config.get("ckpt_path"), subcommand)
        super()._parse_ckpt_path()

    def before_instantiate_classes(self) -> None:
        # The first hook after every parse (the command line, a resumed run's config.yaml, the
        # hyperparameters of --ckpt_path): from here on, every number is a plain int or float.
        plain_numbers(self.config)
        config = self.config[self.subcommand] if self.subcommand else self.config
        self._check_sections(config)
        problem = credentials.password_problem(config.as_dict())
        if self.subcommand and problem is None:  # a command that runs, and writes records
            problem = records_elsewhere(config)
        if problem:
            raise Refusal(problem)
        # Before anything starts CUDA: the GPUs a run on a shared box takes (machine/shared_gpus.py).
        shared_gpus.take_for_run(config.gpus, config.trainer, launched_as_rank_zero())
        trainer = config.trainer
        continuing = self.resuming is not None or hpc_checkpoints(trainer.default_root_dir)
        if self.subcommand and trainer.logger and not trainer.fast_dev_run and not continuing:
            self._note_what_sets_it_apart(config)  # before the checks below complete the settings
        refusals.check_trainer_values(trainer)
        trainer.num_nodes = cluster.check_start(
            trainer.accelerator,
            trainer.devices,
            trainer.precision,
            trainer.strategy,
            trainer.num_nodes,
            compile_model=config.compile,
        )
        torch.set_float32_matmul_precision(config.float32_matmul_precision)
        checkpoint = config.checkpoint
        if checkpoint.filename is None and checkpoint.monitor:
            checkpoint.filename = checkpoint_filename(checkpoint.monitor)
        if trainer.fast_dev_run:
            trainer.logger = False  # fast_dev_run would replace them; some write files on creation
        if self.subcommand in ("validate", "test", "predict"):
            self._require_weights(config)
        elif continuing:
            # The run goes on in its folder, whose config.yaml already says what made it.
            self.save_config_callback = None
        if self.resuming is not None:
            version, last = self.resuming
            if launched_as_rank_zero():  # held from here: a second process stops at once
                runs.hold(last.parent.parent)
            config.ckpt_path = str(last)
            print(f"Resuming version_{version} from {last}")

    def _check_sections(self, config: Namespace) -> None:
        """Refuse a value where the parser has a section of settings (`trainer: 5` in a config
        file), which jsonargparse lets through; the sections are the parser's own."""
        parser = self._parser(self.subcommand) if self.subcommand else self.parser
        for name, default in vars(parser.get_defaults()).items():
            given = vars(config).get(name)
            if isinstance(default, Namespace) and not isinstance(given, Namespace):
                raise Refusal(
                    f"{name}: {given!r} where a section of settings belongs: write `{name}:` "
                    f"with names and values indented below it (`{PROG} {self.subcommand or 'fit'} "
                    "--help` lists them)"
                )

    def _note_what_sets_it_apart(self, config: Namespace) -> None:
        """The presets among the command's config files, and the settings that differ from what the
        same command gives with those presets alone: a second parse, a tenth of a second."""
        parser = self._parser(self.subcommand)
        self.presets_used = presets.names(config.get("config") or [])
        flags = [
            flag for name in self.presets_used for flag in ("--config", str(presets.path(name)))
        ]
        plain = parser.parse_args(flags)
        self.arguments = changed_arguments(
            parser.dump(config, skip_unset=False), parser.dump(plain, skip_unset=False)
        )

    def _require_weights(self, config: Namespace) -> None:
        """validate/test/predict: refuse to evaluate untrained weights unless asked to."""
        if config.ckpt_path is None:
            raise Refusal(
                f"{self.subcommand} needs trained weights: give --ckpt_path FILE (a run's "
                f"checkpoints/*.ckpt), or --ckpt_path {UNTRAINED} to use the model's initial weights"
            )
        if config.ckpt_path == UNTRAINED:
            config.ckpt_path = None

    def _set_seed(self) -> None:
        with refusals.refused_as_configuration(building=True, setting="seed_everything"):
            super()._set_seed()

    def instantiate_classes(self) -> None:
        with refusals.refused_as_configuration(building=True):
            super().instantiate_classes()

    def _run_subcommand(self, subcommand: str) -> None:
        # Lightning refusing a setting as it runs, or a model that does not take its data's
        # batches, in one line; every other error with its traceback (refusals.py and
        # classes.py draw the line).
        with refusals.refused_as_configuration(building=False):
            try:
                super()._run_subcommand(subcommand)
            except Exception as error:
                problem = self.first_step.misfit(error, self.model, self.datamodule)
                if problem is None:
                    raise
                raise Refusal(problem) from None

    def before_fit(self) -> None:
        self._before_processes_start()
        self._hold_run_folder()

    def before_validate(self) -> None:
        self._before_processes_start()
        self._hold_run_folder()

    def before_test(self) -> None:
        self._before_processes_start()
        self._hold_run_folder()

    def before_predict(self) -> None:
        self._before_processes_start()
        self._hold_run_folder()

    def _before_processes_start(self) -> None:
        """Checks of the built trainer and data, in the first process before it starts the others
        and before the run folder exists: a refusal here is one line, and nothing is written."""
        processes = self.trainer.num_nodes * self.trainer.num_devices
        global_batch = getattr(self.datamodule, "global_batch_size", None)
        if isinstance(global_batch, int):
            loading.check_global_batch(global_batch, processes)
        if self.config[str(self.subcommand)].compile:
            compiling.check(self.model)
        project = defaults.files_in_order()[1]
        problem = classes.data_problem(str(self.subcommand), self.model, self.datamodule, project)
        if problem:
            raise Refusal(problem)
        logger = self.trainer.logger
        save_dir = getattr(logger, "save_dir", None) if logger else None
        if save_dir is not None:
            runs.check_writable(Path(save_dir))
        self._read_data_fingerprint()

    def _read_data_fingerprint(self) -> None:
        """The data's fingerprint, for the run's provenance and for a resume's check: read once, in
        the first process, before the data module prepares or sets up anything."""
        if not launched_as_rank_zero() or not (self.provenance or self.resuming):
            return
        self.data_identity = fingerprints.of_data(self.datamodule)
        if self.provenance is not None:
            self.provenance.data = self.data_identity

    def _check_same_data(self, folder: Path) -> None:
        """Refuse to continue the run in `folder` on data other than it trained on, unless asked."""
        change = fingerprints.changed(last_data(folder), self.data_identity or {})
        if change and not self.config.fit.resume_on_changed_data:
            raise Refusal(
                f"--resume: {change} ({folder}); continue on the new data with "
                "--resume_on_changed_data true, or start a new run without --resume"
            )

    def _hold_run_folder(self) -> None:
        """Hold the folder this command writes: a new version_N, or check the run it continues
        (held since parsing) before anything is written.

        The process that launches the others (rank 0) holds it; the others write there only
        through rank 0 (Lightning broadcasts the folder), so they need no lock.
        """
        if not launched_as_rank_zero():
            return
        logger = self.trainer.loggers[0] if self.trainer.loggers else None
        if not isinstance(logger, (TensorBoardLogger, CSVLogger)):
            return
        root = Path(logger.root_dir)
        if self.resuming is not None:
            version, checkpoint = self.resuming
            saved = self.resumed_state["state_dict"]
            resume.check_shapes(self.model.state_dict(), saved, checkpoint)
            self._check_same_data(checkpoint.parent.parent)
            logger._version = version  # the resumed run's folder; the logger reads it from here
            return
        if logger._version is None:  # what Lightning would pick, but made atomically
            logger._version, made = runs.new_version(root)
            runs.hold(made[0], made)
            return
        pinned = logger._version
        folder = root / (pinned if isinstance(pinned, str) else f"version_{pinned}")
        if runs.holds_records(folder) and not hpc_checkpoints(self.trainer.default_root_dir):
            raise Refusal(
                f"run folder {folder} already holds another run; leave "
                "trainer.logger.init_args.version unset for a new folder, or continue that run "
                "with --resume auto"
            )
        runs.hold(folder, runs.make_folders(folder))

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        trainer = self._get(self.config_init, "trainer", default={})
        callbacks = trainer.get("callbacks") or []
        callbacks = list(callbacks) if isinstance(callbacks, list) else [callbacks]
        callbacks.append(self.first_step)
        if self.subcommand == "fit":  # first: it refuses before any other callback writes
            callbacks.insert(0, refusals.RequireTrainingBatches())
            callbacks.append(StopOnCtrlC())
            callbacks += [logging_interval.LogEveryEpoch(), loading.LoaderWaitAdvice()]
        if self.subcommand == "predict":
            callbacks.append(PredictionsFile())
        if self.config.get(str(self.subcommand), self.config).compile:
            callbacks.append(compiling.CompileModule())
        # fast_dev_run turns logging and checkpoints off; a checkpoint folder would be left empty.
        best: ModelCheckpoint | None = None
        if trainer.get("enable_checkpointing") is not False and not trainer.get("fast_dev_run"):
            best = self._get(self.config_init, "checkpoint")
            # RandomStates: so that a resumed run shuffles and drops out as the one it continues.
            callbacks += [best, LastCheckpoint(), RandomStates()]
        if trainer.get("logger") and not trainer.get("fast_dev_run"):
            config = self.config.get(str(self.subcommand), self.config)
            # The same text SaveConfigCallback writes to config.yaml, so their hashes agree.
            dumped = self._parser(self.subcommand).dump(config, skip_unset=False)
            continuing = self.subcommand == "fit" and self.save_config_callback is None
            self.provenance = RunProvenance(
                config.seed_everything, dumped, continuing, self.presets_used, self.arguments
            )
            callbacks.append(self.provenance)
            callbacks.append(RunRecorder(str(self.subcommand), best, continuing))
        has_bar = any(isinstance(callback, ProgressBar) for callback in callbacks)
        if trainer.get("enable_progress_bar") is not False and not has_bar:
            callbacks.append(LiveLossProgressBar())
{%- if cookiecutter.slurm == "yes" %}
        launch = cluster.detect()
        if launch is not None and launch.launcher == "SLURM":
            # On SIGUSR1, checkpoint and requeue at a step all ranks agree on (machine/preemption.py),
            # instead of in Lightning's signal handler, which can hang DDP.
            callbacks.append(RequeueOnSignal())
            plugins = trainer.get("plugins") or []
            plugins = list(plugins) if isinstance(plugins, list) else [plugins]
            kwargs["plugins"] = [*plugins, SLURMEnvironment(auto_requeue=False)]
{%- endif %}
        plugins = kwargs.get("plugins", trainer.get("plugins")) or []
        plugins = list(plugins) if isinstance(plugins, list) else [plugins]
        if not any(isinstance(plugin, CheckpointIO) for plugin in plugins):
            kwargs["plugins"] = [*plugins, AtomicCheckpointIO()]
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


class PlainNumbersParser(LightningArgumentParser):
    """LightningCLI's parser, whose every dump (config.yaml, --print_config, provenance) writes
    plain numbers (see plain_numbers).

    --print_config dumps inside the parse, before any hook of TrainingCLI runs: so here.
    """

    def dump(self, namespace: Namespace, *args: Any, **kwargs: Any) -> str:
        dumped: str = super().dump(plain_numbers(namespace.clone()), *args, **kwargs)
        return dumped


def plain_numbers(value: Any) -> Any:
    """`value` with every range-checked number in it (jsonargparse's PositiveInt, NonNegativeFloat,
    ...) made the plain int or float it checked, in every section and nested class; in place.

    The checked types are subclasses of int and float, and jsonargparse keeps them as given. Kept,
    they break two things: a value that `--model`/`--data` carries by name into another class (as
    jsonargparse does when the class changes) keeps its old class's type, which YAML then cannot
    write under the new class's plain `float` ("cannot represent an object"); and pickled into a
    checkpoint's hyperparameters, torch.load(weights_only=True) refuses to read them.
    """
    if isinstance(value, (bool, Enum)):
        return value
    for number in (int, float):
        if isinstance(value, number) and type(value) is not number:
            return number(value)
    if isinstance(value, Namespace):
        for key, item in vars(value).items():
            setattr(value, key, plain_numbers(item))
    elif isinstance(value, list):
        value[:] = [plain_numbers(item) for item in value]
    elif isinstance(value, dict):
        for key, item in value.items():
            value[key] = plain_numbers(item)
    return value


def records_elsewhere(config: Namespace) -> str | None:
    """Why `config` would put a run's records outside its own run folder, or None.

    A run's config.yaml, checkpoints and logs go into runs/<name>/version_N/ and nowhere else: a
    checkpoint folder of its own would mix runs (or land in another run's folder), and without a
    logger they would go into the working folder, where the next run's collide with them.
    """
    dirpath = config.checkpoint.get("dirpath") if config.get("checkpoint") else None
    if dirpath is not None:
        return (
            f"checkpoint.dirpath={dirpath}: a run's checkpoints go into its own run folder "
            "(runs/<name>/version_N/checkpoints/); leave checkpoint.dirpath unset"
        )
    trainer = config.trainer
    if not trainer.logger and not trainer.fast_dev_run and trainer.default_root_dir is None:
        return (
            f"trainer.logger=false leaves the run without a run folder: its config.yaml and "
            f"checkpoints/ would go into {Path.cwd()}; keep a logger (a run folder under runs/), "
            "or give the folder with --trainer.default_root_dir"
        )
    return None


def checkpoint_filename(monitor: str) -> str:
    """The best checkpoint's name pattern, with the epoch and the monitored value (epoch003-val_acc0.9712)."""
    return "epoch{epoch:03d}-" + monitor.replace("/", "_") + "{" + monitor + ":.4f}"


def run_root(config: Namespace, needed_by: str = "--resume") -> Path:
    """save_dir/name of the first logger, where the run folders are; refused for other loggers."""
    logger = config.trainer.logger
    first = logger[0] if isinstance(logger, list) and logger else logger  # the run directory's
    arguments = first.get("init_args") if isinstance(first, Namespace) else None
    if arguments is None or "version" not in arguments:
        raise Refusal(f"{needed_by} needs a logger with versioned run folders (TensorBoard or CSV)")
    return Path(arguments.save_dir, arguments.name)


def launched_as_rank_zero() -> bool:
    """Whether this process is the first (or only) one, by what a launcher told it, as Lightning reads it."""
    return all(os.environ.get(name, "0") == "0" for name in RANK_VARIABLES)


def hpc_checkpoints(folder: str | Path | None) -> bool:
    """Whether `folder` holds a preemption checkpoint, which Lightning resumes a requeued job from."""
    return folder is not None and any(Path(folder).glob("hpc_ckpt_*.ckpt"))


def install_lightning_fixes() -> None:
    """The project's fixes to Lightning, in this process, as every command that trains has them
    (lightning_fixes.py): each steps aside, with a warning, where Lightning changed under it."""
    lightning_fixes.install()


def build(args: list[str], run: bool = True, callbacks: Sequence[Callback] = ()) -> TrainingCLI:
    """Parse `args` (presets expanded) and, with `run`, execute the subcommand.

    `callbacks` join the trainer's own; the sweep passes one that reports to its trial. Without
    `run`, `args` hold no subcommand: the model, data and trainer are built and returned unused.
    """
    install_lightning_fixes()
    # Before LightningCLI, which reads the launcher's variables to seed and to name the ranks.
    problem = cluster.launcher_variables_problem(os.environ)
    if problem:
        raise Refusal(problem)
    for path in defaults.files_in_order():
        if path.is_file():
            config_files.read(path, empty_allowed=True)
    files = {"default_config_files": [str(path) for path in defaults.files_in_order()]}
    parser_kwargs: dict[str, Any] = {"prog": PROG}
    # The parser of the command given alone: each of the others would take a quarter of a second.
    commands = args[:1] if run and args[:1] and args[0] in SUBCOMMANDS else SUBCOMMANDS
    if run:
        parser_kwargs.update({command: files for command in commands})
    else:
        parser_kwargs.update(files)
    # Parse errors come back as exceptions, so each is one line (refusals.py), not a usage text.
    parser_kwargs["exit_on_error"] = False
    expanded = presets.expand(args) if run else presets.expand(["fit", *args])[1:]
    config_files.check_command_line(expanded)
    try:
        return TrainingCLI(
            commands=commands,
            # Subclass mode: any LightningModule and LightningDataModule, named in the configuration.
            model_class=None,
            datamodule_class=None,
            seed_everything_default=0,
            trainer_defaults={"callbacks": list(callbacks)} if callbacks else None,
            # A command never overwrites a run's config.yaml; a resumed run keeps its own.
            save_config_kwargs={"overwrite": False},
            parser_kwargs=parser_kwargs,
            # Presets go after a subcommand; without one, expand them as if after `fit`.
            args=expanded,
            run=run,
        )
    except ArgumentError as error:
        refused = str(error)
    except Refusal:
        runs.release_all(refused=True)  # and the folder it made: a refused command writes nothing
        raise
    finally:
        runs.release_all()  # the run folder this command held
    # Out of the handler: a module of yours that fails to import raises here with its own traceback.
    problem = classes.parse_problem(refused, defaults.files_in_order()[1])
    command = next((arg for arg in args if arg in SUBCOMMANDS), "fit") if run else "fit"
    hint = f"`{PROG} {command} --help` lists the options and their types"
    raise Refusal(problem or refusals.one_line(refused, hint))
