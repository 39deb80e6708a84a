"""A run's trained model and its data, rebuilt from the run's own records, to look at (report, the
notebook, the applet).

The model comes from the run's best checkpoint, whose class LightningCLI recorded in it; the data
module from the `data:` section of the run's config.yaml, through jsonargparse as `fit` built it.
Both are read only: nothing in the run folder is written.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from jsonargparse import ArgumentParser
from lightning.pytorch import LightningDataModule, LightningModule

from {{ cookiecutter.package_name }}.infra.command_line import config_files
from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal
from {{ cookiecutter.package_name }}.infra.records import checkpoints

CHECKPOINTS = "checkpoints"
LAST = "last.ckpt"  # checkpoints.LastCheckpoint: the latest epoch, not the best
CONFIG = "config.yaml"  # LightningCLI's record of what the run was given


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint's contents on the CPU, read as data (checkpoints.read): never code it carries.
    A damaged file (cut short, not a checkpoint) is refused in one line naming it."""
    try:
        state = checkpoints.read(path)
    except Refusal:
        raise
    except Exception as error:  # torch raises many kinds for a file it cannot read
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise Refusal(
            f"{path} cannot be read as a checkpoint ({reason[:160]}): it is damaged, or not a "
            "checkpoint; look at another run (`runs` lists them), or fit again"
        ) from None
    if not isinstance(state, dict):
        raise Refusal(f"{path} is not a checkpoint of a run (it holds no mapping of its state)")
    return state


def best_checkpoint(folder: Path) -> Path | None:
    """The checkpoint of the run's best epoch by its monitored metric; for a `validate`, `test` or
    `predict` run, the checkpoint it was given. None when there is neither."""
    checkpoints = folder / CHECKPOINTS
    kept = sorted(
        path
        for path in checkpoints.glob("*.ckpt")
        if path.name != LAST and not path.name.startswith("hpc_ckpt")
    )
    if len(kept) > 1 and (checkpoints / LAST).is_file():
        # With save_top_k above 1 several are kept: the latest epoch's record names the best.
        for callback in load_checkpoint(checkpoints / LAST).get("callbacks", {}).values():
            if isinstance(callback, dict) and callback.get("monitor") is not None:
                best = checkpoints / Path(str(callback.get("best_model_path"))).name
                if best in kept:
                    return best
    if kept:
        return kept[-1]
    given = run_config(folder).get("ckpt_path")
    return Path(given) if isinstance(given, str) and Path(given).is_file() else None


def run_config(folder: Path) -> dict[str, Any]:
    """The run's config.yaml as plain data; empty when the run wrote none, or when it is damaged
    (said in a warning)."""
    path = folder / CONFIG
    if not path.is_file():
        return {}
    try:
        return config_files.read(path, empty_allowed=True)
    except Refusal as damaged:  # a reader goes on: the run is shown without what its config says
        print(f"warning: {damaged}; read as empty", file=sys.stderr)
        return {}


def load_model(checkpoint: Path) -> LightningModule:
    """The model saved in `checkpoint`, of the class the run used, on the CPU, in eval mode."""
    hyperparameters = load_checkpoint(checkpoint).get("hyper_parameters") or {}
    class_path = hyperparameters.get("_class_path")  # LightningCLI records the class it built
    if not isinstance(class_path, str):
        raise Refusal(
            f"{checkpoint} does not name its model's class (LightningCLI writes it with the "
            "hyperparameters): load it with that class's load_from_checkpoint"
        )
    # Lightning loads only classes already imported, so that a checkpoint cannot run unknown code;
    # this one is the run's own record of what it trained.
    module_name, _, class_name = class_path.rpartition(".")
    try:
        model_class = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):  # renamed or removed since: the module's own bugs raise
        raise Refusal(  # other errors, with their tracebacks
            f"{checkpoint} holds a {class_path}, which this code no longer has: restore the class "
            "(or check out the commit the run recorded), or look at another run"
        ) from None
    model: LightningModule = model_class.load_from_checkpoint(checkpoint, map_location="cpu")
    return model.eval()


def load_data(folder: Path) -> LightningDataModule | None:
    """The data module the run was given, built again from its config.yaml; None without one."""
    data = run_config(folder).get("data")
    if not isinstance(data, dict):
        return None
    parser = ArgumentParser(exit_on_error=False)
    parser.add_subclass_arguments(LightningDataModule, "data")
    built = parser.instantiate_classes(parser.parse_object({"data": data}))
    module: LightningDataModule = built.data
    return module
