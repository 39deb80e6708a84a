"""Lightning's own refusals of a configuration, as one line naming what refused it.

Lightning checks many values itself, where it uses them: a callback's arguments when it is built,
the names in the trainer's registries (strategy, accelerator, precision plugins), a monitored metric
at the end of the first validation. Its MisconfigurationException always means "the configuration is
wrong"; a ValueError, or a missing optional requirement, raised inside Lightning while the classes of
the configuration are built means the same. Both become a Refusal here, in one place, so the command
ends in one `error:` line and exit 2, and the run folder it made goes (training.build). Anything
else, and anything raised in your own code, keeps its traceback: that is a bug to see.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import lightning
import lightning_utilities
from lightning.fabric.utilities.exceptions import MisconfigurationException

from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal

# Lightning, and the package whose RequirementCache it uses to say an optional package is missing.
LIGHTNING_FOLDERS = [
    Path(str(package.__file__)).parent for package in (lightning, lightning_utilities)
]


def frames(error: BaseException) -> list[TracebackType]:
    """The traceback of `error`, outermost frame first."""
    found: list[TracebackType] = []
    trace = error.__traceback__
    while trace is not None:
        found.append(trace)
        trace = trace.tb_next
    return found


def in_lightning(trace: TracebackType) -> bool:
    path = Path(trace.tb_frame.f_code.co_filename)
    return any(path.is_relative_to(folder) for folder in LIGHTNING_FOLDERS)


def built_class(error: BaseException) -> str | None:
    """The Lightning class whose construction raised `error` (Trainer, ModelCheckpoint, ...)."""
    for trace in frames(error):
        frame = trace.tb_frame
        if in_lightning(trace) and frame.f_code.co_name == "__init__" and "self" in frame.f_locals:
            return type(frame.f_locals["self"]).__name__
    return None


def as_refusal(error: Exception, building: bool, setting: str | None = None) -> Refusal | None:
    """`error` as a Refusal if it is Lightning refusing the configuration, else None.

    `building`: raised while the configuration was applied (its classes built, its seed set), before
    anything ran. `setting`: what the message names when no Lightning class refused.
    """
    raised = frames(error)
    lightning_refused = bool(raised) and in_lightning(raised[-1])
    building_refused = building and isinstance(error, (ValueError, ModuleNotFoundError))
    if not isinstance(error, MisconfigurationException) and not (
        building_refused and lightning_refused
    ):
        return None
    text = " ".join(str(error).split())  # Lightning's messages span lines; the refusal is one
    refused_by = built_class(error) or setting
    return Refusal(f"{refused_by}: {text}" if refused_by else text)


@contextmanager
def refused_as_configuration(building: bool, setting: str | None = None) -> Iterator[None]:
    """Raise what Lightning refuses in the block as a Refusal (as_refusal); the rest as it is."""
    try:
        yield
    except Exception as error:
        refusal = as_refusal(error, building, setting)
        if refusal is None:
            raise
        raise refusal from None
