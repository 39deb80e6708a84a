"""The project's fixes to Lightning, installed in one place, each guarded against a Lightning that
changed under it.

Each fix patches a private part of Lightning (named in `targets`), which a later release may rename
or remove. Before a fix is installed, its targets are looked up: where one is gone, the fix steps
aside with one warning naming it and the module to update, and training runs as Lightning's own
code runs it (a little slower, or, for overfit_batches, with single samples from a batched_loader),
rather than failing at import or patching something that is no longer called.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass

from {{ cookiecutter.package_name }}.infra import hook_overhead, loading, log_overhead, quiet
from {{ cookiecutter.package_name }}.infra.errors import is_rank_zero


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
        log_overhead.__name__,
        ((log_overhead.RESULT_MODULE, log_overhead.RESULT_CLASS),),
        log_overhead.install,
    ),
    Fix(
        "the checks nn.Module makes on every assignment of the hook's name",
        hook_overhead.__name__,
        (("lightning.pytorch.core.module", "LightningModule"),),
        hook_overhead.install,
    ),
    Fix(
        "overfit_batches making single samples of a batched_loader's batches",
        loading.__name__,
        tuple((loop, loading.OVERFIT_RESOLVER) for loop in loading.OVERFIT_LOOPS),
        loading.keep_batches_when_overfitting,
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
        elif fix.module not in _warned and is_rank_zero():
            _warned.add(fix.module)
            print(
                f"warning: this Lightning has no {gone}: the project's fix of {fix.fixes} "
                f"({fix.module.replace('.', '/')}.py) steps aside, and training runs unpatched; "
                "update that module for this Lightning, or install the locked one (nox -s sync)",
                file=sys.stderr,
            )
