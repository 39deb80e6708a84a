"""A fix for the largest per-step cost that Lightning adds to a small model: `self.log`.

Every `self.log(...)` in a step moves the logged metric's state to the value's device, and Lightning
does it by walking (and deep-copying) every attribute of the metric object, even when its tensors are
already there: about half a millisecond on a CPU per call, every step. A model whose step takes a
few milliseconds loses a tenth of its speed to it. Reported upstream as Lightning issue #20388; the
fix proposed there (pull request #21769) is the one applied here: when the state is already on the
device, there is nothing to move. Any other move takes Lightning's own path.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from lightning.pytorch.trainer.connectors.logger_connector.result import _ResultMetric

# Where Lightning keeps the class patched here: private, so looked up when installing
# (lightning_fixes.py steps aside where a Lightning release moved it).
RESULT_MODULE = "lightning.pytorch.trainer.connectors.logger_connector.result"
RESULT_CLASS = "_ResultMetric"
# A mean also keeps the summed batch sizes; the other reductions keep only the value.
STATES = ("value", "cumulated_batch_size")


def already_on(metric: _ResultMetric, device: torch.device) -> bool:
    """Whether every tensor the metric keeps is on `device` (a logged tensor, not a Metric)."""
    if not metric.is_tensor:
        return False
    states = [getattr(metric, name, None) for name in STATES]
    return all(state.device == device for state in states if isinstance(state, torch.Tensor))


def install() -> None:
    """Skip the moves that move nothing, in this process (idempotent)."""
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
