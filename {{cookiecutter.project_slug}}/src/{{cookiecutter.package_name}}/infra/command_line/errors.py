"""One error type for everything the project refuses to run, and the one place that reports it."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

# The shell's status for a process ended by SIGTERM (128 + 15): what schedulers expect to see.
SIGTERM_STATUS = 143
# And for one stopped by Ctrl-C (SIGINT, 128 + 2), which training/interrupt.py turns into the same
# stop.
CTRL_C_STATUS = 130
# Set when Ctrl-C asked a fit to stop (training/interrupt.py): the stop that follows is reported as
# such.
ctrl_c_pressed = threading.Event()
# Where launchers (torchrun, Lightning's, SLURM's srun) put a process's global rank, in the order
# Lightning reads them.
RANK_VARIABLES = ("RANK", "LOCAL_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK")


class Refusal(Exception):
    """A request refused before it runs (a bad preset, missing hardware, nothing to resume, ...).

    The message names the setting and the fix; `reported` prints it as one `error:` line.
    """


# What launchers set beside the ranks: the job's size, or where its first process listens. Lightning
# removes WORLD_SIZE when a command ends, so a second command in the same process has MASTER_PORT.
LAUNCH_VARIABLES = ("WORLD_SIZE", "MASTER_PORT", "SLURM_NTASKS", "JSM_NAMESPACE_SIZE")


def launched(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether a launcher (torchrun, Lightning's, srun, LSF's jsrun) started this process."""
    return any(name in environ for name in LAUNCH_VARIABLES)


def is_rank_zero() -> bool:
    """Whether this process is the first of its job (or runs alone: a rank variable left in a
    shell, without a launcher, does not silence it)."""
    if not launched():
        return True
    for name in RANK_VARIABLES:
        if name in os.environ:
            return os.environ[name] == "0"
    return True


@contextmanager
def reported() -> Iterator[None]:
    """Turn a Refusal into one `error: ...` line on stderr and exit status 2, as argparse does.

    Lightning ends a command stopped by SIGTERM with a SystemExit without a code, which is status
    0: here it is 143 (130 when Ctrl-C asked for the stop), so `fit && test`, schedulers and
    containers see that it did not finish.
    Under a launcher every process refuses the same request; only the first says so.
    """
    try:
        yield
    except Refusal as error:
        if is_rank_zero():
            print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except SystemExit as error:
        if not stopped_by_sigterm(error):
            raise
        if ctrl_c_pressed.is_set():
            print("error: stopped by Ctrl-C before the end", file=sys.stderr)
            raise SystemExit(CTRL_C_STATUS) from None
        print("error: stopped by SIGTERM before the end", file=sys.stderr)
        raise SystemExit(SIGTERM_STATUS) from None


def stopped_by_sigterm(error: SystemExit) -> bool:
    """Whether `error` is Lightning's SIGTERMException (a SystemExit).

    Only a process that loaded Lightning can raise it, so Lightning is never imported for this:
    the commands that only read files (`runs`, `presets`) start in a fraction of a second, and the
    noxfile imports this module (through machine/locks.py) before Lightning is installed.
    """
    if "lightning.pytorch" not in sys.modules:
        return False
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    return isinstance(error, SIGTERMException)
