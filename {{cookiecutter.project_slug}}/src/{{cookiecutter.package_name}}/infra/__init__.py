"""The template's infrastructure: the command line, checks, presets, sweeps and run records.

Nothing here imports your modules (data.py, model.py, module.py or any you add): the model and data
classes are named in config.yaml (or with `--model CLASS --data CLASS`) and imported by LightningCLI.
So this folder can follow later releases of the template (`cruft update`) without touching your code;
tests/test_layout.py keeps it that way.

What your code may import from it is this module's public surface, and nothing else (the modules
behind it may move between releases; tests/test_layout.py checks that your modules, the examples,
the notebooks and the README import only these names from `{{ cookiecutter.package_name }}.infra`):

For a data module:
- `GlobalBatchSampler(dataset, batch_size, trainer, shuffle=..., seed=..., drop_last=...)`: the same
  global batches at every number of processes, so a DDP run repeats a one-process run;
- `batched_loader(dataset, batches, num_workers=0)`: a DataLoader that indexes a tensor dataset
  a whole batch at a time (no per-sample collate);
- `fingerprint_files(*paths)`: a `Fingerprint` of files and folders (or of DVC's records of them),
  for the `data_fingerprint` method that puts the data into every run's provenance.

For reading runs (a notebook, an applet):
- `runs_root()`, `run_folders(root)`, `newest_run(root)`: where runs are, each run's folder, the
  newest one;
- `best_checkpoint(run)`, `load_model(checkpoint)`, `load_data(run)`, `run_config(run)`: a run's
  model and data, rebuilt from its records (checkpoints are read as data, never unpickled);
- `read_history(run)`, `learning_curves(history)`: its metrics per epoch, and their figure.

And `Refusal`, the error that the command line prints as one line, and `PROG`, its name.

They are imported when first used, so importing this package costs nothing (`runs` and `--help`
answer without torch).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal
    from {{ cookiecutter.package_name }}.infra.command_line.parser import PROG
    from {{ cookiecutter.package_name }}.infra.records.fingerprints import (
        files as fingerprint_files,
        Fingerprint,
    )
    from {{ cookiecutter.package_name }}.infra.records.history import read as read_history
    from {{ cookiecutter.package_name }}.infra.records.report import (
        curves as learning_curves,
        newest_run,
    )
    from {{ cookiecutter.package_name }}.infra.training.batched_loading import (
        batched_loader,
        GlobalBatchSampler,
    )
    from {{ cookiecutter.package_name }}.infra.records.loading import (
        best_checkpoint,
        load_data,
        load_model,
        run_config,
    )
    from {{ cookiecutter.package_name }}.infra.records.table import run_folders, runs_root

# Each public name: the module behind it, and its name there.
PUBLIC = {
    "GlobalBatchSampler": ("training.batched_loading", "GlobalBatchSampler"),
    "batched_loader": ("training.batched_loading", "batched_loader"),
    "Fingerprint": ("records.fingerprints", "Fingerprint"),
    "fingerprint_files": ("records.fingerprints", "files"),
    "runs_root": ("records.table", "runs_root"),
    "run_folders": ("records.table", "run_folders"),
    "newest_run": ("records.report", "newest_run"),
    "best_checkpoint": ("records.loading", "best_checkpoint"),
    "load_model": ("records.loading", "load_model"),
    "load_data": ("records.loading", "load_data"),
    "run_config": ("records.loading", "run_config"),
    "read_history": ("records.history", "read"),
    "learning_curves": ("records.report", "curves"),
    "Refusal": ("command_line.errors", "Refusal"),
    "PROG": ("command_line.parser", "PROG"),
}
__all__ = [
    "GlobalBatchSampler",
    "batched_loader",
    "Fingerprint",
    "fingerprint_files",
    "runs_root",
    "run_folders",
    "newest_run",
    "best_checkpoint",
    "load_model",
    "load_data",
    "run_config",
    "read_history",
    "learning_curves",
    "Refusal",
    "PROG",
]


def __getattr__(name: str) -> Any:
    """A public name, imported from its module when first asked for (PEP 562)."""
    if name not in PUBLIC:  # a submodule: Python's import system looks for it next
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = PUBLIC[name]
    value = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
    globals()[name] = value
    return value
