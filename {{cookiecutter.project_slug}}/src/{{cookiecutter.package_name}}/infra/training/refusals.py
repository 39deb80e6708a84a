"""Wrong configuration refused in one line naming the setting and the fix, before anything is
written, wherever it is found:

- jsonargparse's nested report of a refused value, as one line (`one_line`);
- trainer settings that Lightning would refuse only after the run folder exists
  (`check_trainer_values`);
- a fit whose training loader yields no batch (`RequireTrainingBatches`): Lightning would log "no
  training batches", skip training and exit 0, a run that trained nothing, with a run folder and a
  success code. This happens when the batch is larger than the training set (its sampler drops the
  last, partial batch), or when trainer.limit_train_batches leaves no batch;
- Lightning's own refusals (`refused_as_configuration`). Lightning checks many values itself, where
  it uses them: a callback's arguments when it is built, the names in the trainer's registries
  (strategy, accelerator, precision plugins), a monitored metric at the end of the first
  validation. Its MisconfigurationException always means "the configuration is wrong"; a
  ValueError, or a missing optional requirement, raised inside Lightning while the classes of the
  configuration are built means the same. Both become a Refusal here, so the command ends in one
  `error:` line and exit 2, and the run folder it made goes (lightning_cli.build). Anything else,
  and anything raised in your own code, keeps its traceback: that is a bug to see.

Which classes a configuration names, and whether they fit together, is classes.py's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sized
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import lightning
import lightning_utilities
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch import Callback, LightningModule, Trainer

from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal

PARSER_KEY = re.compile(r'\s*(?:- )?Parser key "([^"]+)":\s*(.*)')
# The scaffolding of jsonargparse's report around the reason, which one line leaves out.
SCAFFOLDING = re.compile(
    r"\s*(- )?(Does not validate against any of the Union subtypes|Subtypes:|Errors:"
    r"|Problem with given class_path|Given value type:|Given value:)"
)


def one_line(message: str, help_hint: str) -> str:
    """`data.batch_size: Not of type PositiveInt: 0 does not conform to restriction v>0 (...)`.

    The keys of the nested parsers join into the setting's dotted name; the reason is the first
    line after the innermost key that is not part of the report's scaffolding.
    """
    lines = message.strip().splitlines()
    keys: list[str] = []
    reason = ""
    for line in lines:
        key = PARSER_KEY.fullmatch(line)
        if key:
            keys.append(key.group(1))
            reason = key.group(2)
        elif not reason and not SCAFFOLDING.match(line) and line.strip():
            reason = line.strip().removeprefix("- ")
        if reason and not key and keys:
            break
    given = next((line.split(":", 1)[1].strip() for line in lines if "Given value:" in line), "")
    if given and not given.startswith("NestedArg") and given not in reason:
        reason = f"{reason}, given {given}"
    text = f"{'.'.join(keys)}: {reason}" if keys else " ".join(line.strip() for line in lines)
    return f"{text} ({help_hint})"


# Trainer settings that Lightning would refuse only after the run folder exists, refused at once:
# (setting, smallest value, what the fix is). num_nodes is the start-up check's
# (machine/cluster.py), as -1 (the multinode preset) takes the node count from the launcher.
LOWER_BOUNDS = (
    ("max_epochs", -1, "give 1 or more epochs, or -1 for no limit"),
    ("min_epochs", 0, "give 0 or more"),
    ("max_steps", -1, "give 1 or more steps, or -1 for no limit"),
    ("min_steps", 0, "give 0 or more"),
    ("accumulate_grad_batches", 1, "give 1 or more"),
    ("log_every_n_steps", 1, "give 1 or more"),
)


def check_trainer_values(trainer: Any) -> None:
    """Raise Refusal naming the first trainer setting out of its range, and the fix."""
    devices = trainer.devices
    if isinstance(devices, (list, tuple)):
        if not devices:
            raise Refusal("trainer.devices=[] names no device: give a count, or device indices")
    elif str(devices) != "auto" and "," not in str(devices):
        try:
            count = int(devices)
        except ValueError:
            raise Refusal(
                f"trainer.devices={devices} is not a count: give 1 or more, -1 or auto for all"
            ) from None
        if count == 0 or count < -1:
            raise Refusal(f"trainer.devices={devices}: give 1 or more, or -1 or auto for all")
    for name, lowest, fix in LOWER_BOUNDS:
        value = trainer.get(name)
        if isinstance(value, int) and value < lowest:
            raise Refusal(f"trainer.{name}={value}: {fix}")


class RequireTrainingBatches(Callback):
    """At setup (data set up, nothing written yet), count the training loader's batches."""

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        datamodule = getattr(trainer, "datamodule", None)  # set by fit, untyped in Lightning
        limit = trainer.limit_train_batches
        if limit == 0:
            raise Refusal(
                "trainer.limit_train_batches=0 trains on no batch: give a fraction above 0, or a "
                "number of batches (1 or more)"
            )
        loader = (datamodule or pl_module).train_dataloader()
        if not isinstance(loader, Sized):
            return  # an iterable loader's length is unknown until it runs
        if len(loader) > 0 and isinstance(limit, float) and int(len(loader) * limit) == 0:
            raise Refusal(
                f"trainer.limit_train_batches={limit} is less than one of the {len(loader)} "
                f"training batches: give at least {1 / len(loader):.2g}, or a number of batches"
            )
        if len(loader) > 0:
            return
        dataset = getattr(loader, "dataset", None)
        samples = f"{len(dataset)} samples" if isinstance(dataset, Sized) else "too few samples"
        raise Refusal(
            f"no training batches: the training set has {samples}, fewer than one batch; "
            "lower data.batch_size"
        )


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
