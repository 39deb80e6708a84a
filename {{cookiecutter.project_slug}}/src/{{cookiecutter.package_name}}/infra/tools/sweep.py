"""Hyperparameter sweeps with Optuna: `sweep [options] [fit arguments]`.

The search space is a Weights & Biases sweep file (sweeps/wandb.yaml), so one file drives both this
command and `wandb agent`: its `parameters` are arguments of `fit` (`model.learning_rate`), its
`metric` is what the sweep maximises or minimises, `method` picks the sampler (bayes: TPE, random),
and `early_terminate.min_iter` is the first epoch after which a poor trial may be stopped (Optuna's
MedianPruner: below the median of earlier trials at the same epoch).

Each trial is a `fit` in this process, on one device, with the sampled values as flags after the
fit arguments given here. Workers that share a storage share one study, and the database hands
each trial to exactly one worker: run one worker per GPU, machine or SLURM array task, with a
PostgreSQL URL (postgresql+psycopg://user@host/database) where they run on several machines. The URL
comes from `--storage` or the SWEEP_STORAGE environment variable; a password never goes on the
command line (`ps` and the scheduler's records would show it): it comes from SWEEP_STORAGE or from
PostgreSQL's own password file, ~/.pgpass, and every URL printed has it masked.

A study's trials write under runs/sweeps/<study>-<id>/trial-NNNN, where the id is made when the study
is and kept in it, so another study of the same name (another database) never writes into its folders.
The search space, sampler and objective are kept in the study too: a worker whose sweep file
changed them is refused.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import random
import re
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import yaml
from lightning.pytorch import Callback, LightningModule, Trainer
from optuna.exceptions import ExperimentalWarning
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.exceptions import DuplicatedStudyError
from optuna.study import StudyDirection
from sqlalchemy import create_engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from {{ cookiecutter.package_name }}.infra.command_line import defaults
from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal
from {{ cookiecutter.package_name }}.infra.command_line.parser import CommandParser, PROG
from {{ cookiecutter.package_name }}.infra.machine import hardware
from {{ cookiecutter.package_name }}.infra.training.lightning_cli import build

SWEEP_ROOT = Path("runs") / "sweeps"
DEFAULT_SPACE = Path("sweeps") / "wandb.yaml"
DEFAULT_STORAGE = f"sqlite:///{SWEEP_ROOT / 'optuna.db'}"
STORAGE_VARIABLE = "SWEEP_STORAGE"  # the storage URL when --storage is not given
CONNECT_SECONDS = 10  # an unreachable database is reported after this, not after retries
# What a study keeps of the sweep that made it (user attributes), checked when a worker joins.
FOLDER_ATTRIBUTE, SEARCH_ATTRIBUTE = "run_folder", "search"
JOIN_WAIT_SECONDS = 10  # how long a joining worker waits for the creator to record them
SAMPLERS = {"bayes": optuna.samplers.TPESampler, "random": optuna.samplers.RandomSampler}
GOALS = {"maximize": StudyDirection.MAXIMIZE, "minimize": StudyDirection.MINIMIZE}
# ModelCheckpoint's modes, as goals: the objective when the sweep file names no metric.
CHECKPOINT_MODES = {"max": "maximize", "min": "minimize"}
# W&B's distributions that map onto Optuna's suggestions.
DISTRIBUTIONS = ("uniform", "log_uniform_values", "int_uniform")
# A preempted worker leaves its trial RUNNING; once it has missed heartbeats for GRACE_SECONDS,
# the next worker to start a trial marks it failed and queues its parameters again.
HEARTBEAT_SECONDS = 30
GRACE_SECONDS = 120


@dataclass(frozen=True)
class Space:
    """A sweep file: what to search, what to optimise (None: the checkpoint's metric), and when to
    stop poor trials."""

    source: Path
    name: str
    metric: str | None
    goal: str | None
    method: str
    parameters: dict[str, dict[str, Any]]
    min_epochs_before_pruning: int | None


def _number(source: Path, name: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        hint = " (YAML reads 3e-4 as text: write 3.0e-4)" if isinstance(value, str) else ""
        raise Refusal(f"{source}: parameter {name!r}: {key}={value!r} is not a number{hint}")
    return float(value)


def _check_parameter(source: Path, name: str, spec: Any) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise Refusal(f"{source}: parameter {name!r} must be a mapping (values, or min and max)")
    if "value" in spec or "values" in spec:
        values = [spec["value"]] if "value" in spec else spec["values"]
        if not isinstance(values, list) or not values:
            raise Refusal(f"{source}: parameter {name!r}: values must be a non-empty list")
        return spec
    distribution = spec.get("distribution")
    if distribution is None and "min" in spec and "max" in spec:
        # W&B's rule: integer bounds search integers, other bounds search floats.
        integers = all(isinstance(spec[k], int) for k in ("min", "max"))
        distribution = "int_uniform" if integers else "uniform"
    if distribution not in DISTRIBUTIONS:
        raise Refusal(
            f"{source}: parameter {name!r}: distribution {distribution!r} is not supported; use "
            f"values, value, or distribution {', '.join(DISTRIBUTIONS)} with min and max"
        )
    low = _number(source, name, "min", spec.get("min"))
    high = _number(source, name, "max", spec.get("max"))
    if not low < high or (distribution == "log_uniform_values" and low <= 0):
        raise Refusal(
            f"{source}: parameter {name!r}: needs 0 < min < max for log_uniform_values, "
            f"min < max otherwise; got min={low}, max={high}"
        )
    return {**spec, "distribution": distribution}


def check_study_name(name: str, setting: str) -> None:
    """Study names become folder names under runs/sweeps/."""
    if not re.fullmatch(r"[\w.-]+", name):
        raise Refusal(f"{setting} {name!r} must be letters, digits, '.', '_' or '-'")


def load_space(path: Path) -> Space:
    """Read and check a W&B sweep file; Refusal names the first bad setting."""
    if not path.is_file():
        raise Refusal(f"no sweep file at {path}: run from the project root or pass --space FILE")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        where = getattr(error, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        reason = getattr(error, "problem", None) or type(error).__name__
        raise Refusal(
            f"{path} is not a YAML sweep file{line}: {reason}; sweeps/wandb.yaml shows the form"
        ) from None
    if not isinstance(document, dict):
        raise Refusal(f"{path}: a sweep file is a mapping with metric and parameters")
    metric = document.get("metric") or {}
    if not isinstance(metric, dict) or (metric and not isinstance(metric.get("name"), str)):
        raise Refusal(
            f"{path}: metric.name is missing: name what to optimise (e.g. val/acc), or leave out "
            "metric to optimise the checkpoint's metric"
        )
    goal = metric.get("goal", "maximize") if metric else None
    if goal is not None and goal not in GOALS:
        raise Refusal(f"{path}: metric.goal is {goal!r}: use maximize or minimize")
    method = document.get("method", "bayes")
    if method not in SAMPLERS:
        raise Refusal(f"{path}: method {method!r} is not supported here: use bayes or random")
    parameters = document.get("parameters")
    if not isinstance(parameters, dict) or not parameters:
        raise Refusal(f"{path}: parameters is empty: name at least one argument of fit")
    early = document.get("early_terminate") or {}
    min_iter = early.get("min_iter", 1) if early else None
    if min_iter is not None and (not isinstance(min_iter, int) or min_iter < 1):
        raise Refusal(f"{path}: early_terminate.min_iter must be a positive whole number")
    name = str(document.get("name") or path.stem)
    check_study_name(name, f"{path}: name")
    return Space(
        source=path,
        name=name,
        metric=metric["name"] if metric else None,
        goal=goal,
        method=method,
        parameters={key: _check_parameter(path, key, spec) for key, spec in parameters.items()},
        min_epochs_before_pruning=min_iter,
    )


def _flag(name: str, value: Any) -> str:
    text = json.dumps(value) if isinstance(value, bool) or value is None else str(value)
    return f"--{name}={text}"


def _candidates(spec: dict[str, Any]) -> list[Any]:
    """Values that exercise a parameter's type and range when parsed."""
    if "value" in spec:
        return [spec["value"]]
    if "values" in spec:
        return list(spec["values"])
    if spec["distribution"] == "int_uniform":
        return [int(spec["min"]), int(spec["max"])]
    return [float(spec["min"]), float(spec["max"])]


def fit_config(args: list[str]) -> dict[str, Any]:
    """The configuration `fit` would run with `args`, from the CLI's own parser; nothing is built.

    A value that `fit` refuses raises its one-line Refusal.
    """
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        try:
            build(["fit", *args, "--print_config"])
        except SystemExit:  # --print_config exits once it has printed
            pass
    config: dict[str, Any] = yaml.safe_load(printed.getvalue())
    return config


def check_arguments(space: Space, fit_args: list[str]) -> dict[str, Any]:
    """Parse every parameter, at its bounds or each of its values, as an argument of `fit`.

    Returns the configuration of the first probe. Raises Refusal naming the first parameter
    that is not an argument of `fit` or whose values it refuses.
    """
    probes = max(len(_candidates(spec)) for spec in space.parameters.values())
    config: dict[str, Any] = {}
    for probe in range(probes):
        flags = {}
        for name, spec in space.parameters.items():
            values = _candidates(spec)
            flags[name] = _flag(name, values[probe % len(values)])
        try:
            parsed = fit_config([*fit_args, *flags.values()])
        except Refusal:
            _blame(space, fit_args, flags)
            raise
        config = config or parsed
    return config


def _blame(space: Space, fit_args: list[str], flags: dict[str, str]) -> None:
    """Raise Refusal naming what `fit` refused: its own arguments, or one parameter."""
    try:
        fit_config(fit_args)
    except Refusal as error:
        raise Refusal(f"the arguments for fit are wrong: {error}") from None
    for name, flag in flags.items():
        try:
            fit_config([*fit_args, flag])
        except Refusal as error:
            # A trainer flag is unrecognized; the model's and data's arguments belong to the class
            # the configuration names, which does not accept an unknown one.
            unknown = f"Option {name.rpartition('.')[2]!r} is not accepted"
            if "unrecognized arguments" in str(error) or unknown in str(error):
                raise Refusal(
                    f"{space.source}: parameter {name!r} is not an argument of fit "
                    "(`fit --help` lists them)"
                ) from None
            raise Refusal(
                f"{space.source}: parameter {name!r}: fit refuses {flag}: {error}"
            ) from None


def objective(space: Space, config: dict[str, Any]) -> tuple[str, str]:
    """The metric to optimise and its goal: the sweep file's, else the checkpoint's of `config`."""
    if space.metric is not None and space.goal is not None:
        return space.metric, space.goal
    checkpoint = config["checkpoint"]
    if not checkpoint.get("monitor"):
        raise Refusal(
            f"{space.source} names no metric and fit monitors none (checkpoint.monitor): "
            "set metric.name in the sweep file or --checkpoint.monitor"
        )
    return checkpoint["monitor"], CHECKPOINT_MODES[checkpoint.get("mode", "min")]


def check_one_device(config: dict[str, Any]) -> None:
    """Trials run in this process: refuse settings that would start more processes."""
    trainer = config["trainer"]
    devices = trainer.get("devices")
    processes = hardware.processes_per_node(trainer.get("accelerator"), devices)
    if processes != 1 or trainer.get("num_nodes", 1) != 1:
        raise Refusal(
            f"each trial runs in this process on one device, but trainer.devices={devices} and "
            f"trainer.num_nodes={trainer.get('num_nodes')}: drop the ddp and multinode presets; "
            "to use more GPUs, start one worker per GPU (CUDA_VISIBLE_DEVICES=N) on one --storage"
        )


class ReportToTrial(Callback):
    """After each validation epoch, report the metric to the trial; stop early when it is pruned."""

    def __init__(self, trial: optuna.Trial, metric: str, goal: str) -> None:
        self.trial = trial
        self.metric = metric
        self.goal = goal
        self.best: float | None = None
        self.pruned_after_epoch: int | None = None

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.sanity_checking:
            return
        if self.metric not in trainer.callback_metrics:
            logged = ", ".join(sorted(trainer.callback_metrics)) or "nothing"
            raise Refusal(f"metric {self.metric!r} was not logged; logged: {logged}")
        value = float(trainer.callback_metrics[self.metric])
        epochs = trainer.current_epoch + 1
        if math.isfinite(value):
            better = max if self.goal == "maximize" else min
            self.best = value if self.best is None else better(self.best, value)
        self.trial.report(value, step=epochs)
        if self.trial.should_prune():
            self.pruned_after_epoch = epochs
            trainer.should_stop = True  # ends after this epoch, with checkpoints and logs closed


def masked(url: str) -> str:
    """`url` as it may be printed or recorded: its password, if any, as ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:  # not a URL; anything before an @ may be a password
        return url.rpartition("@")[2]


def storage_url(option: str | None) -> str:
    """The study database's URL: --storage, else SWEEP_STORAGE, else SQLite under runs/sweeps/."""
    if option is None:
        return os.environ.get(STORAGE_VARIABLE) or DEFAULT_STORAGE
    try:
        password = make_url(option).password
    except ArgumentError:
        password = None
    if password:
        raise Refusal(
            f"--storage {masked(option)} holds a password, which `ps` and job records would show: "
            f"give the URL in {STORAGE_VARIABLE}, or the password in ~/.pgpass (chmod 600)"
        )
    return option


def check_storage(url: str) -> None:
    """Connect once, at most CONNECT_SECONDS: a bad or unreachable URL is one line, now.

    A SQLite file is only parsed: the study creates it once everything else has been checked.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise Refusal(
            f"storage {masked(url)} is not a database URL: give sqlite:///FILE or "
            "postgresql+psycopg://USER@HOST/DATABASE"
        ) from None
    postgres = parsed.get_backend_name() == "postgresql"
    try:
        if parsed.get_backend_name() == "sqlite":
            parsed.get_dialect()  # a file: connecting would create it before the other checks
            return
        engine = create_engine(
            parsed, connect_args={"connect_timeout": CONNECT_SECONDS} if postgres else {}
        )
        with engine.connect():
            pass
        engine.dispose()
    except (NoSuchModuleError, ImportError) as error:
        raise Refusal(
            f"storage {masked(url)}: no database driver for it ({error}); the sweep lock holds "
            "PostgreSQL's (postgresql+psycopg://) and SQLite needs none"
        ) from None
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        if parsed.password:
            reason = reason.replace(parsed.password, "***")
        raise Refusal(
            f"cannot open the study database {masked(url)} ({reason}): check its host, port, "
            "user and password, and that it is running"
        ) from None


def open_storage(url: str, attempts: int = 5) -> RDBStorage:
    """Connect to the study database, creating its tables if this worker is the first."""
    for attempt in range(1, attempts + 1):
        try:
            return RDBStorage(
                url,
                heartbeat_interval=HEARTBEAT_SECONDS,
                grace_period=GRACE_SECONDS,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1),
            )
        except SQLAlchemyError:
            # Workers started together (array tasks) race to create the tables; who loses retries.
            if attempt == attempts:
                raise
            time.sleep(random.uniform(0.5, 2.0))
    raise AssertionError("unreachable")


def make_study(
    space: Space,
    objective: tuple[str, str],
    storage_url: str,
    study_name: str,
    startup_trials: int,
    seed: int | None,
) -> optuna.Study:
    """Create the study, or join it when another worker already has (the same search only)."""
    metric, goal = objective
    if storage_url.startswith("sqlite:///"):
        Path(storage_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    storage = open_storage(storage_url)
    pruner: optuna.pruners.BasePruner = optuna.pruners.NopPruner()
    if space.min_epochs_before_pruning is not None:
        pruner = optuna.pruners.MedianPruner(
            n_startup_trials=startup_trials, n_warmup_steps=space.min_epochs_before_pruning
        )
    sampler = SAMPLERS[space.method](seed=seed)
    search = {"metric": metric, "goal": goal, "method": space.method, **space.parameters}
    search = json.loads(json.dumps(search))  # as the database gives it back
    try:
        study = optuna.create_study(
            study_name=study_name,
            storage=storage,
            sampler=sampler,
            pruner=pruner,
            direction=GOALS[goal],
        )
    except DuplicatedStudyError:
        study = optuna.load_study(
            study_name=study_name, storage=storage, sampler=sampler, pruner=pruner
        )
        check_same_search(study, search, storage_url)
        return study
    # The folder first: a joining worker waits for the search (check_same_search), then reads it.
    study.set_user_attr(FOLDER_ATTRIBUTE, f"{study_name}-{uuid.uuid4().hex[:8]}")
    study.set_user_attr(SEARCH_ATTRIBUTE, search)
    return study


def check_same_search(study: optuna.Study, search: dict[str, Any], storage_url: str) -> None:
    """Refuse to join a study that searches another space, or towards another goal."""
    goal = search["goal"]
    if study.direction != GOALS[goal]:
        made = "maximize" if study.direction == StudyDirection.MAXIMIZE else "minimize"
        raise Refusal(
            f"study {study.study_name!r} in {masked(storage_url)} was made to {made}, this sweep "
            f"would {goal}: name a new study with --study NAME, or restore metric.goal"
        )
    deadline = time.monotonic() + JOIN_WAIT_SECONDS
    # The worker that created the study records its search just after; wait for it.
    while SEARCH_ATTRIBUTE not in study.user_attrs and time.monotonic() < deadline:
        time.sleep(0.2)
    recorded = study.user_attrs.get(SEARCH_ATTRIBUTE)
    if recorded is None:  # a study made before studies kept their search: adopt this one
        study.set_user_attr(FOLDER_ATTRIBUTE, f"{study.study_name}-{uuid.uuid4().hex[:8]}")
        study.set_user_attr(SEARCH_ATTRIBUTE, search)
        return
    changed = [key for key in {**recorded, **search} if recorded.get(key) != search.get(key)]
    if changed:
        key = changed[0]
        raise Refusal(
            f"study {study.study_name!r} in {masked(storage_url)} was made with {key}="
            f"{json.dumps(recorded.get(key))}, this sweep has {key}={json.dumps(search.get(key))}: "
            "name a new study with --study NAME, or restore the sweep file"
        )


def study_folder(study: optuna.Study) -> Path:
    """The folder of the study's trials, unique to the study (its id, made with it).

    The name comes from the storage, which others may write: one that would lead out of
    runs/sweeps/ (`..`, a path) is refused rather than followed.
    """
    name = str(study.user_attrs[FOLDER_ATTRIBUTE])
    if not re.fullmatch(r"[\w.-]+", name) or set(name) == {"."}:
        raise Refusal(
            f"study {study.study_name!r} names its trial folder {name!r}, which is not a folder "
            f"name under {SWEEP_ROOT}: its storage was changed by hand; name a new study with "
            "--study NAME"
        )
    return SWEEP_ROOT / name


def trial_logger(folder: Path, run: str) -> str:
    """The flag that points the run-directory logger (the first in defaults.yaml) at a trial's folder.

    Trackers after it (W&B, MLflow) are left out of trials: each trial's metrics are in its run
    directory and in the study.
    """
    first = defaults.first_logger()
    arguments = {"save_dir": str(folder.parent), "name": folder.name, "version": run}
    logger = {"class_path": first["class_path"], "init_args": arguments}
    return f"--trainer.logger={json.dumps(logger)}"


def run_trial(
    trial: optuna.Trial, space: Space, target: tuple[str, str], folder: Path, fit_args: list[str]
) -> float:
    """One `fit` with the trial's values; its run directory is <folder>/trial-NNNN."""
    values: dict[str, Any] = {}
    for name, spec in space.parameters.items():
        if "value" in spec:
            values[name] = spec["value"]
        elif "values" in spec:
            values[name] = trial.suggest_categorical(name, spec["values"])
        elif spec["distribution"] == "int_uniform":
            values[name] = trial.suggest_int(name, int(spec["min"]), int(spec["max"]))
        else:
            log = spec["distribution"] == "log_uniform_values"
            values[name] = trial.suggest_float(name, spec["min"], spec["max"], log=log)
    run = f"trial-{trial.number:04d}"
    trial.set_user_attr(FOLDER_ATTRIBUTE, str(folder / run))
    run_flags = [
        trial_logger(folder, run),
        # Lightning's preemption checkpoint (SLURM) lands here, so no other trial resumes from it.
        f"--trainer.default_root_dir={folder / run}",
    ]
    flags = [_flag(name, value) for name, value in values.items()]
    metric, goal = target
    reporter = ReportToTrial(trial, metric, goal)
    print(f"trial {trial.number}: {' '.join(flags)}", flush=True)
    build(["fit", "--trainer.devices=1", *fit_args, *flags, *run_flags], callbacks=[reporter])
    if reporter.pruned_after_epoch is not None:
        print(f"trial {trial.number}: pruned after epoch {reporter.pruned_after_epoch}", flush=True)
        raise optuna.TrialPruned(f"pruned after epoch {reporter.pruned_after_epoch}")
    if reporter.best is None:
        raise Refusal(f"trial {trial.number} never validated, so {metric} is unknown")
    print(f"trial {trial.number}: {metric}={reporter.best:.4f}", flush=True)
    return reporter.best


def parser() -> CommandParser:
    parser = CommandParser(
        prog=f"{PROG} sweep",
        description="Search the arguments of fit with Optuna; other arguments go to every fit.",
    )
    parser.add_argument("--space", type=Path, default=DEFAULT_SPACE, help="a W&B sweep file")
    parser.add_argument("--trials", type=int, default=20, help="trials this worker runs")
    parser.add_argument(
        "--storage",
        help=f"database URL that all workers of a study share, without a password (default: "
        f"${STORAGE_VARIABLE}, else {DEFAULT_STORAGE})",
    )
    parser.add_argument("--study", help="study name (default: the sweep file's name)")
    parser.add_argument(
        "--startup-trials", type=int, default=3, help="trials to finish before any is pruned"
    )
    parser.add_argument(
        "--seed", type=int, help="seed of the sampler (give workers different ones)"
    )
    return parser


def parse_options(args: list[str]) -> tuple[argparse.Namespace, list[str]]:
    options, fit_args = parser().parse_known_args(args)
    if options.trials < 1:
        raise Refusal(f"sweep --trials {options.trials}: give 1 or more")
    if options.startup_trials < 0:
        raise Refusal(f"sweep --startup-trials {options.startup_trials}: give 0 or more")
    if options.seed is not None and not 0 <= options.seed < 2**32:
        raise Refusal(f"sweep --seed {options.seed}: give a number from 0 to 2**32 - 1")
    if options.storage == "":
        raise Refusal(
            f"sweep --storage is empty: give a database URL, or leave it out (then "
            f"${STORAGE_VARIABLE}, else {DEFAULT_STORAGE})"
        )
    if options.study == "":
        raise Refusal("sweep --study is empty: give a name, or leave it out (the sweep file's)")
    return options, fit_args


def main(args: list[str]) -> None:
    """`sweep`: check everything, then run `--trials` trials of the study."""
    options, fit_args = parse_options(args)
    warnings.filterwarnings("ignore", category=ExperimentalWarning)  # heartbeats and retries
    space = load_space(options.space)
    study_name = options.study or space.name
    check_study_name(study_name, "--study")
    url = storage_url(options.storage)
    check_storage(url)
    probe = check_arguments(space, ["--trainer.devices=1", *fit_args])
    check_one_device(probe)
    trainer = probe["trainer"]
    hardware.check(trainer["accelerator"], trainer["devices"], trainer["precision"])
    metric, goal = objective(space, probe)
    study = make_study(space, (metric, goal), url, study_name, options.startup_trials, options.seed)
    folder = study_folder(study)
    print(f"study {study_name} in {masked(url)}, trials in {folder}", flush=True)
    print(f"objective: {goal} {metric}", flush=True)
    study.optimize(
        lambda trial: run_trial(trial, space, (metric, goal), folder, fit_args),
        n_trials=options.trials,
    )
    complete = study.get_trials(deepcopy=False, states=[optuna.trial.TrialState.COMPLETE])
    if complete:
        best = study.best_trial
        config = folder / f"trial-{best.number:04d}" / "config.yaml"
        print(f"best so far: trial {best.number}, {metric}={best.value:.4f}, {config}")
