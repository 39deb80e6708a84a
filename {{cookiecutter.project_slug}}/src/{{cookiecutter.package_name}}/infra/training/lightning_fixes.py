"""The project's fixes to Lightning, installed in one place, each guarded against a Lightning that
changed under it.

Each fix patches a private part of Lightning (named in `targets`), which a later release may rename
or remove. Before a fix is installed, its targets are looked up: where one is gone, the fix steps
aside with one warning naming it and the module to update, and training runs as Lightning's own
code runs it (a little slower, or, for overfit_batches, with single samples from a batched_loader),
rather than failing at import or patching something that is no longer called.

Two of them live here, the two largest per-step costs Lightning adds to a small model:

`self.log`. Every `self.log(...)` in a step moves the logged metric's state to the value's device,
and Lightning does it by walking (and deep-copying) every attribute of the metric object, even when
its tensors are already there: about half a millisecond on a CPU per call, every step. A model whose
step takes a few milliseconds loses a tenth of its speed to it. Reported upstream as Lightning issue
#20388; the fix proposed there (pull request #21769) is the one applied here: when the state is
already on the device, there is nothing to move. Any other move takes Lightning's own path.

The running hook's name. Around every hook call (some two dozen in a training step: the module's,
the callbacks', the strategy's), Lightning sets `_current_fx_name` on the LightningModule and then
sets it back: about 47 assignments a step. Each goes through `nn.Module.__setattr__`, whose checks
for a parameter, a submodule or a buffer (isinstance checks through torch's metaclasses) take about
3 µs where a plain assignment takes 0.3: over a tenth of a millisecond a step alone, and several
times that inside a running fit, where the step's tensor work has evicted the checks' code from the
caches. The name is a string or None, never a parameter, submodule or buffer, so it is stored as
nn.Module would store it in the end, directly; every other assignment takes nn.Module's own path.

The third, overfit_batches keeping a batched_loader's batches, lives beside that loader
(batched_loading.py).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from lightning.pytorch import LightningModule
from torch import nn

from {{ cookiecutter.package_name }}.infra.command_line.errors import is_rank_zero
from {{ cookiecutter.package_name }}.infra.training import batched_loading, quiet

if TYPE_CHECKING:
    from lightning.pytorch.trainer.connectors.logger_connector.result import _ResultMetric

# Where Lightning keeps the metric class whose moves are skipped: private, so looked up when
# installing (the fix steps aside where a Lightning release moved it).
RESULT_MODULE = "lightning.pytorch.trainer.connectors.logger_connector.result"
RESULT_CLASS = "_ResultMetric"
# A mean also keeps the summed batch sizes; the other reductions keep only the value.
STATES = ("value", "cumulated_batch_size")
# Attributes Lightning sets around every hook call, and only ever to a string or None.
HOOK_NAME_ATTRIBUTES = frozenset({"_current_fx_name"})


def already_on(metric: _ResultMetric, device: torch.device) -> bool:
    """Whether every tensor the metric keeps is on `device` (a logged tensor, not a Metric)."""
    if not metric.is_tensor:
        return False
    states = [getattr(metric, name, None) for name in STATES]
    return all(state.device == device for state in states if isinstance(state, torch.Tensor))


def skip_needless_moves() -> None:
    """Skip the moves of `self.log` that move nothing, in this process (idempotent)."""
    metric_class: type[_ResultMetric] = getattr(
        importlib.import_module(RESULT_MODULE), RESULT_CLASS
    )
    move = metric_class.to
    if getattr(move, "skips_needless_moves", False):
        return

    def to(self: _ResultMetric, *args: Any, **kwargs: Any) -> _ResultMetric:
        # Lightning calls it as `.to(value.device)`; any other call takes Lightning's path.
        if not kwargs and len(args) == 1 and isinstance(args[0], torch.device):
            if already_on(self, args[0]):
                return self
        return move(self, *args, **kwargs)

    to.skips_needless_moves = True  # type: ignore[attr-defined]
    metric_class.to = to  # type: ignore[method-assign]


def set_attribute(module: nn.Module, name: str, value: Any) -> None:
    """`nn.Module.__setattr__`, without its checks for the hook name."""
    if name in HOOK_NAME_ATTRIBUTES and (value is None or isinstance(value, str)):
        object.__setattr__(module, name, value)
    else:
        nn.Module.__setattr__(module, name, value)


def store_hook_names_directly() -> None:
    """Store the hook name directly on every LightningModule, in this process (idempotent).

    A module class with a `__setattr__` of its own keeps it.
    """
    LightningModule.__setattr__ = set_attribute  # type: ignore[method-assign, assignment]


@dataclass(frozen=True)
class Fix:
    """A fix: what it fixes, the module of this project that holds it, the (Lightning module,
    attribute) pairs it patches, and the function that installs it."""

    fixes: str
    module: str
    targets: tuple[tuple[str, str], ...]
    install: Callable[[], None]


FIXES = (
    Fix(
        "self.log's moves of metrics already on their device",
        __name__,
        ((RESULT_MODULE, RESULT_CLASS),),
        skip_needless_moves,
    ),
    Fix(
        "the checks nn.Module makes on every assignment of the hook's name",
        __name__,
        (("lightning.pytorch.core.module", "LightningModule"),),
        store_hook_names_directly,
    ),
    Fix(
        "overfit_batches making single samples of a batched_loader's batches",
        batched_loading.__name__,
        tuple((loop, batched_loading.OVERFIT_RESOLVER) for loop in batched_loading.OVERFIT_LOOPS),
        batched_loading.keep_batches_when_overfitting,
    ),
)
_warned: set[str] = set()  # one warning per fix and process, however many commands it runs


def missing(fix: Fix) -> str | None:
    """The first of the fix's targets that this Lightning lacks, as `module.attribute`, or None."""
    for module, attribute in fix.targets:
        try:
            found = hasattr(importlib.import_module(module), attribute)
        except ImportError:
            found = False
        if not found:
            return f"{module}.{attribute}"
    return None


def install() -> None:
    """Install every fix whose targets this Lightning has, in this process (idempotent); warn
    once for each of the others."""
    quiet.install()
    for fix in FIXES:
        gone = missing(fix)
        if gone is None:
            fix.install()
        elif fix.fixes not in _warned and is_rank_zero():
            _warned.add(fix.fixes)
            print(
                f"warning: this Lightning has no {gone}: the project's fix of {fix.fixes} "
                f"({fix.module.replace('.', '/')}.py) steps aside, and training runs unpatched; "
                "update that module for this Lightning, or install the locked one (nox -s sync)",
                file=sys.stderr,
            )
