"""A fix for Lightning's most frequent per-step cost: naming the running hook on the module.

Around every hook call (some two dozen in a training step: the module's, the callbacks', the
strategy's), Lightning sets `_current_fx_name` on the LightningModule and then sets it back: about
47 assignments a step. Each goes through `nn.Module.__setattr__`, whose checks for a parameter, a
submodule or a buffer (isinstance checks through torch's metaclasses) take about 3 µs where a plain
assignment takes 0.3: over a tenth of a millisecond a step alone, and several times that inside a
running fit, where the step's tensor work has evicted the checks' code from the caches. The name is
a string or None, never a parameter, submodule or buffer, so it is stored as nn.Module would store
it in the end, directly; every other assignment takes nn.Module's own path.
"""

from __future__ import annotations

from typing import Any

from lightning.pytorch import LightningModule
from torch import nn

# Attributes Lightning sets around every hook call, and only ever to a string or None.
HOOK_NAME_ATTRIBUTES = frozenset({"_current_fx_name"})


def set_attribute(module: nn.Module, name: str, value: Any) -> None:
    """`nn.Module.__setattr__`, without its checks for the hook name."""
    if name in HOOK_NAME_ATTRIBUTES and (value is None or isinstance(value, str)):
        object.__setattr__(module, name, value)
    else:
        nn.Module.__setattr__(module, name, value)


def install() -> None:
    """Store the hook name directly on every LightningModule, in this process (idempotent).

    A module class with a `__setattr__` of its own keeps it.
    """
    LightningModule.__setattr__ = set_attribute  # type: ignore[method-assign, assignment]
