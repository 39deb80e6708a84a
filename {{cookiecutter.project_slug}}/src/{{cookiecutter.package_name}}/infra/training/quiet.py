"""Output a user can act on: the few messages of Lightning and torch that are known to be harmless
here are dropped, each matched by its text and the module that emits it. Every other warning shows.
"""

from __future__ import annotations

import logging
import warnings

# Lightning's advertisements for its cloud services, logged as information on every run.
ADVERTISEMENTS = (
    "💡 Tip: For seamless cloud logging and experiment tracking",
    "💡 Tip: For seamless cloud uploads and versioning",
)
# Lightning's device lines on a machine without the device: nothing a user of it can act on (the
# line of a GPU that is there, used or not, still shows).
NO_DEVICE_LINES = ("GPU available: False, used: False", "TPU available: False, using: 0")
# Where Lightning logs them: rank_zero_info of fabric or of pytorch, whichever set it up.
RANK_ZERO_LOGGERS = (
    "lightning.pytorch.utilities.rank_zero",
    "lightning.fabric.utilities.rank_zero",
)


# MLflow's notes when it makes or migrates its SQLite store (a first run, or a refused command's).
MLFLOW_STORE_NOTES = ("Creating initial MLflow database tables", "Updating database tables")


class DropMessages(logging.Filter):
    """Drops the records of one logger whose message starts with one of `prefixes`."""

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefixes)


def drop(logger_name: str, prefixes: tuple[str, ...]) -> None:
    logger = logging.getLogger(logger_name)
    if not any(isinstance(existing, DropMessages) for existing in logger.filters):
        logger.addFilter(DropMessages(prefixes))


def install() -> None:
    """Drop the known-harmless messages in this process (idempotent)."""
    for name in RANK_ZERO_LOGGERS:
        drop(name, ADVERTISEMENTS + NO_DEVICE_LINES)
    drop("mlflow.store.db.utils", MLFLOW_STORE_NOTES)
    # The command line reaches LightningCLI as `args` after presets are expanded; its warning about
    # `args` beside sys.argv is for callers that pass unrelated arguments, which is not the case here.
    warnings.filterwarnings(
        "ignore", message="LightningCLI's args parameter", module=r"lightning\.pytorch\.cli"
    )
    # Lightning's own tree helper still builds torch's deprecated LeafSpec: nothing to change here.
    warnings.filterwarnings(
        "ignore",
        message=r"`isinstance\(treespec, LeafSpec\)` is deprecated",
        category=FutureWarning,
        module=r"lightning\.pytorch\.utilities\._pytree",
    )
    # The model summary's size estimate in bf16 runs: a footnote, not a problem.
    warnings.filterwarnings(
        "ignore",
        message="Precision .* is not supported by the model summary",
        module=r"lightning\.pytorch\.utilities\.model_summary\.model_summary",
    )
    # A resumed run continues in its own folder on purpose; a command never writes into another
    # run's folder (records/folders.py refuses it), so this is all a resume would print.
    warnings.filterwarnings(
        "ignore",
        message="Checkpoint directory .* exists and is not empty",
        module=r"lightning\.pytorch\.callbacks\.model_checkpoint",
    )
    # The run folder is made (atomically, with its run.lock, records/folders.py) before the CSV
    # logger starts in it, which it takes for another run's logs; a command never writes into
    # another run's folder.
    warnings.filterwarnings(
        "ignore",
        message="Experiment logs directory .* exists and is not empty",
        module=r"lightning\.fabric\.loggers\.csv_logs",
    )
    # Printed on any machine with SLURM's client tools installed, on every run; jobs that use SLURM
    # launch through srun, and the start-up check (machine/cluster.py) reads their allocation itself.
    warnings.filterwarnings(
        "ignore",
        message="The `srun` command is available on your system but is not used",
        module=r"lightning\.fabric\.plugins\.environments\.slurm",
    )
    # Lightning advises more loader workers for every loader with fewer than two, on any machine
    # with more than two cores, whether its loading is slow or not: loading.LoaderWaitAdvice
    # measures, and advises in one line where the training loop does wait for its loader.
    warnings.filterwarnings(
        "ignore",
        message="The '.*' does not have many workers",
        module=r"lightning\.pytorch\.trainer\.connectors\.data_connector",
    )
    # A logging interval longer than the epoch: the fit shortens it to the epoch
    # (logging_interval.py), so the advice is taken.
    warnings.filterwarnings(
        "ignore",
        message=r"The number of training batches \(\d+\) is smaller than the logging interval",
        module=r"lightning\.pytorch\.loops\.fit_loop",
    )
    # Lightning's SaveConfigCallback still passes jsonargparse's deprecated `skip_none` to the
    # parser's dump, which training.PlainNumbersParser passes on: Lightning's to change.
    warnings.filterwarnings(
        "ignore",
        message=r"\s*skip_none parameter was deprecated",
        category=DeprecationWarning,
        module=r"{{ cookiecutter.package_name }}\.infra\.training",
    )
