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
# Where Lightning logs them: rank_zero_info of fabric or of pytorch, whichever set it up.
RANK_ZERO_LOGGERS = ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero")


class DropAdvertisements(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(ADVERTISEMENTS)


def install() -> None:
    """Drop the known-harmless messages in this process (idempotent)."""
    for name in RANK_ZERO_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, DropAdvertisements) for existing in logger.filters):
            logger.addFilter(DropAdvertisements())
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
    # Printed on any machine with SLURM's client tools installed, on every run; jobs that use SLURM
    # launch through srun, and the start-up check (cluster.py) reads their allocation itself.
    warnings.filterwarnings(
        "ignore",
        message="The `srun` command is available on your system but is not used",
        module=r"lightning\.fabric\.plugins\.environments\.slurm",
    )
