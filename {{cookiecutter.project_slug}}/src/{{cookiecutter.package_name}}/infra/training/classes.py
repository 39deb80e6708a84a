"""Your classes, as config.yaml or `--model`/`--data` name them: each mistake in naming them is one
line that names the class and the fix, before anything is written; so is a model that does not
take the batches its data gives, at the first step where they meet.

Where the line is drawn, for a failure of a step:
- the first step the model takes on a batch (the sanity check's, or the first training, test or
  predict step), failing inside the model's step method with an error about values (RuntimeError,
  ValueError, IndexError, KeyError, TypeError: what a wrong shape, dtype or batch structure raises)
  is a model and data that do not fit: one line with the error, where it was raised and what the
  batch holds;
- everything else shows its traceback: a bug of code (NameError, AttributeError, AssertionError, a
  hook not implemented), out of memory, a compiler's failure, an error in a loader, a callback,
  backward or the optimizer, and any error after the first step, when model and data did fit.
"""

from __future__ import annotations

import difflib
import importlib
import re
import sys
import sysconfig
import traceback
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import Callback, LightningDataModule, LightningModule, Trainer
from lightning.pytorch.utilities.model_helpers import is_overridden

from {{ cookiecutter.package_name }}.infra.training.refusals import PARSER_KEY

# The base class of each section that names a class.
KINDS: dict[str, type] = {"model": LightningModule, "data": LightningDataModule}
# The loader each command reads, from the data module or else from the model.
LOADERS = {
    "fit": "train_dataloader",
    "validate": "val_dataloader",
    "test": "test_dataloader",
    "predict": "predict_dataloader",
}
# jsonargparse's report of a refused value ends with it: a class path, or a dict, NestedArg or
# Namespace that holds one.
GIVEN = re.compile(r"^\s*Given value: (.*)$", re.MULTILINE)
GIVEN_CLASS_PATH = re.compile(r"""(?:'class_path': |class_path=|val=)'([^']+)'""")
REQUIRED_MODEL = re.compile(r"arguments are required: (?:\w+\.)?model\b")
# The errors of values that a model raises on a batch it cannot take (see the module's docstring).
MISFITS = (RuntimeError, ValueError, IndexError, KeyError, TypeError)
NOT_MISFITS = (NotImplementedError, torch.OutOfMemoryError)
# Where library code lives: frames there are not where a user looks for the cause.
LIBRARIES = tuple(
    str(Path(sysconfig.get_paths()[name]).resolve()) for name in ("stdlib", "purelib", "platlib")
)


def name_of(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def parse_problem(message: str, config_file: Path) -> str | None:
    """What is wrong with the class a refused `model` or `data` section names, or that none is
    named, from jsonargparse's report; None when the report is about something else."""
    if REQUIRED_MODEL.search(message):
        return (
            f"no model named: {config_file} has no model section; name your LightningModule "
            "there (model: class_path: MODULE.CLASS), or give --model MODULE.CLASS"
        )
    keys = [key.group(1) for key in map(PARSER_KEY.fullmatch, message.splitlines()) if key]
    given = GIVEN.search(message)
    # Only a report about the section itself: one of its arguments has its own key.
    if len(keys) != 1 or keys[0].rpartition(".")[2] not in KINDS or given is None:
        return None
    value = given.group(1).strip()
    inner = GIVEN_CLASS_PATH.search(value)
    class_path = inner.group(1) if inner else value
    if not re.fullmatch(r"[A-Za-z_][\w.]*", class_path):
        return None
    return class_problem(keys[0].rpartition(".")[2], class_path)


def class_problem(section: str, class_path: str) -> str | None:
    """Why `class_path` cannot be the `section`'s class; None if it can.

    A module that is there but fails to import is not a mistake in the name: its error is raised
    here, with the traceback that points into it.
    """
    kind = KINDS[section]
    module_name, _, name = class_path.rpartition(".")
    if not module_name:
        return (
            f"{section}: {class_path} is no {kind.__name__} imported so far: give its full "
            f"path, MODULE.{class_path}"
        )
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if not missing or not (module_name + ".").startswith(missing + "."):
            raise
        return (
            f"{section}: {class_path}: there is no module {missing}; check its spelling (a file "
            f"FILE.py of yours in src/{{ cookiecutter.package_name }}/ is "
            f"{{ cookiecutter.package_name }}.FILE)"
        )
    found = getattr(module, name, None)
    if found is None:
        defined = sorted(
            key
            for key, value in vars(module).items()
            if isinstance(value, type) and issubclass(value, kind) and value is not kind
        )
        close = difflib.get_close_matches(name, defined, n=1)
        if close:
            fix = f"did you mean {module_name}.{close[0]}?"
        elif defined:
            fix = f"its {kind.__name__}s are {', '.join(defined)}"
        else:
            fix = f"it has no {kind.__name__}"
        return f"{section}: module {module_name} has no {name}: {fix}"
    if isinstance(found, type) and issubclass(found, kind):
        return None
    other = next(key for key in KINDS if key != section)
    if isinstance(found, type) and issubclass(found, KINDS[other]):
        return (
            f"{section}: {class_path} is a {KINDS[other].__name__}, not a {kind.__name__}: give "
            f"it as --{other}, and a {kind.__name__} as --{section}"
        )
    if isinstance(found, type) and issubclass(found, torch.nn.Module) and section == "model":
        return (
            f"model: {class_path} is a torch module, not a LightningModule: name a "
            "LightningModule that holds it and says how it trains (training_step, "
            "configure_optimizers)"
        )
    what = f"class {found.__name__}" if isinstance(found, type) else type(found).__name__
    return (
        f"{section}: {class_path} is a {what}, not a {kind.__name__}: name a subclass of "
        f"lightning.pytorch.{kind.__name__}"
    )


def data_problem(
    command: str, model: LightningModule, data: LightningDataModule | None, config_file: Path
) -> str | None:
    """Why `command` has no loader to read: no data named and a model without its own, or a data
    module without the one the command needs; None if it has one."""
    loader = LOADERS[command]
    if data is not None:
        if is_overridden(loader, data):
            return None
        return (
            f"{name_of(type(data))} has no {loader}, which {command} reads: add one, or "
            f"{command} with --data naming a data module that has it"
        )
    if is_overridden(loader, model):
        return None
    return (
        f"no data named: {config_file} has no data section, and the model "
        f"{name_of(type(model))} has no {loader} of its own; name your LightningDataModule "
        "there (data: class_path: MODULE.CLASS), or give --data MODULE.CLASS"
    )


class FirstStep(Callback):
    """Holds the first batch a step of the model takes, while that step runs, so that a failure
    there can be told from the others (`misfit`)."""

    def __init__(self) -> None:
        self.started = False
        self.running: tuple[str, Any] | None = None  # the step's name and its batch

    def _start(self, step: str, batch: Any) -> None:
        if not self.started:
            self.started = True
            self.running = (step, batch)

    def _end(self) -> None:
        self.running = None

    def on_train_batch_start(
        self, trainer: Trainer, pl_module: LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self._start("training_step", batch)

    def on_train_batch_end(self, *args: Any, **kwargs: Any) -> None:
        self._end()

    def on_validation_batch_start(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self._start("validation_step", batch)

    def on_validation_batch_end(self, *args: Any, **kwargs: Any) -> None:
        self._end()

    def on_test_batch_start(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self._start("test_step", batch)

    def on_test_batch_end(self, *args: Any, **kwargs: Any) -> None:
        self._end()

    def on_predict_batch_start(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self._start("predict_step", batch)

    def on_predict_batch_end(self, *args: Any, **kwargs: Any) -> None:
        self._end()

    def misfit(
        self, error: BaseException, model: LightningModule, data: LightningDataModule | None
    ) -> str | None:
        """One line for an `error` of the first step in the model's step method (see the module's
        docstring for which); None for any other error."""
        if self.running is None or not isinstance(error, MISFITS) or compiler_error(error):
            return None
        if isinstance(error, NOT_MISFITS):
            return None
        step, batch = self.running
        frames = list(traceback.walk_tb(error.__traceback__))
        inside = [
            index
            for index, (frame, _) in enumerate(frames)
            if frame.f_code.co_name == step and frame.f_locals.get("self") is model
        ]
        if not inside:
            return None
        yours = [
            (frame, line)
            for frame, line in frames[inside[0] :]
            if not str(Path(frame.f_code.co_filename).resolve()).startswith(LIBRARIES)
        ]
        frame, line = (yours or frames[inside[0] :])[-1]  # the innermost frame of your code
        where = f"{frame.f_code.co_name}, {Path(frame.f_code.co_filename).name}:{line}"
        message = (str(error).strip().splitlines() or [""])[0]
        source = f"{name_of(type(data))}'s" if data is not None else "its own"
        return (
            f"the first {step.replace('_', ' ')} of {name_of(type(model))} on {source} first "
            f"batch failed: {type(error).__name__}: {message} ({where}); that batch holds "
            f"{describe(batch)}: make the model's inputs fit the data's batches"
        )


def compiler_error(error: BaseException) -> bool:
    """Whether torch.compile raised `error` about itself (a shape error found while tracing is
    one of the model's, as in an uncompiled step). Read only where compile has run."""
    if "torch._dynamo" not in sys.modules:
        return False
    from torch._dynamo import exc

    return isinstance(error, exc.TorchDynamoException) and not isinstance(
        error, exc.TorchRuntimeError
    )


def describe(batch: Any, limit: int = 200) -> str:
    """`{'features': float32[16, 4], 'target': float32[16]}`: the batch's structure, its tensors
    as dtype and shape."""

    def text(value: Any) -> str:
        if isinstance(value, torch.Tensor):
            return f"{str(value.dtype).removeprefix('torch.')}[{', '.join(map(str, value.shape))}]"
        if isinstance(value, dict):
            return "{" + ", ".join(f"{key!r}: {text(item)}" for key, item in value.items()) + "}"
        if isinstance(value, (list, tuple)):
            inner = ", ".join(text(item) for item in value)
            return f"[{inner}]" if isinstance(value, list) else f"({inner})"
        return type(value).__name__

    described = text(batch)
    return described if len(described) <= limit else described[: limit - 3] + "..."
