"""`fit --resume auto`: continue the latest run from its last checkpoint, with no path to type.

The latest run is the highest `version_N` under the logger's folder that holds `checkpoints/last.ckpt`
and did not finish (its run.json says so): a finished run is complete, so it is never written into.
Resuming restores the model, optimizer, scheduler and loop state from that checkpoint, and points the
logger at the same version, so logs and checkpoints continue in the same run directory. The run's own
`config.yaml` is the configuration: flags may change how it runs (devices, precision, logging), but
not what it trains (model, data) or for how long (its learning-rate schedule spans the whole run).
Every check here reads only, so a refused resume leaves the run's files as they were.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal
from {{ cookiecutter.package_name }}.infra.records import (
    checkpoints,
    folders as run_folders,
    record as run_record,
)

MODES = ("never", "auto", "auto-or-fresh")
# What a resumed run must keep: what it trains, and the length its schedule was built for.
FIXED = ("model", "data", "trainer.max_epochs", "trainer.max_steps")


def unfinished_fit(folder: Path) -> bool:
    """Whether `folder` holds a fit that did not finish (stopped, failed, killed), by its records; a
    run made before runs kept records counts as one."""
    started, continued = run_record.read(folder)
    if started is not None and started.get("command") not in (None, "fit"):
        return False  # a validate, test or predict run: no training to continue
    last = continued[-1] if continued else started
    return last is None or last.get("state") != run_record.FINISHED


def latest_checkpoint(runs: Path) -> tuple[int, Path] | None:
    """(version, last.ckpt) of the newest unfinished fit under `runs` that has one: a finished run
    has nothing left to train, so it is never continued (nor written into)."""
    for version, folder in run_folders.versions(runs):
        last = folder / "checkpoints" / "last.ckpt"
        if last.is_file() and unfinished_fit(folder):
            return version, last
    return None


def check_readable(checkpoint: Path) -> dict[str, Any]:
    """The checkpoint's contents; refused now, before anything is written, if it is damaged.

    torch.load checks neither the tensors' bytes nor, with mmap, that they are all there; the zip
    archive torch writes keeps a CRC of every member, so reading them all finds any damaged byte.
    """
    try:
        with zipfile.ZipFile(checkpoint) as archive:
            damaged = archive.testzip()
        if damaged is not None:
            raise ValueError(f"{damaged} does not match its checksum")
        state = checkpoints.read(checkpoint)
    except Refusal:
        raise  # it carries more than data: not opened
    except Exception as error:  # zipfile and torch raise many kinds for a damaged file
        raise Refusal(
            f"checkpoint {checkpoint} cannot be read ({type(error).__name__}: {error}); "
            "move it away to resume from an older run, or start fresh without --resume"
        ) from None
    if not isinstance(state, dict) or "state_dict" not in state or "loops" not in state:
        raise Refusal(
            f"checkpoint {checkpoint} is not a full training checkpoint (no model or loop state); "
            "move it away, or start fresh without --resume"
        )
    return state


def flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"model.init_args.hidden": 64, ...}: nested mappings as dotted keys."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def check_unchanged(current: Mapping[str, Any], saved: Mapping[str, Any], config: Path) -> None:
    """Refuse, naming the first difference, a resume that would change what the run trains."""
    here, there = flatten(current), flatten(saved)
    for key in sorted(set(here) | set(there)):
        fixed = any(key == name or key.startswith(f"{name}.") for name in FIXED)
        if fixed and here.get(key) != there.get(key):
            raise Refusal(
                f"--resume: {key} is {here.get(key)!r} here but {there.get(key)!r} in the run it "
                f"continues ({config}); a run keeps its model, data and length: drop the flag, "
                "or start a new run without --resume"
            )


def check_shapes(model: Mapping[str, Any], saved: Mapping[str, Any], checkpoint: Path) -> None:
    """Refuse a checkpoint whose tensors do not fit the model (its code changed since)."""
    for name, tensor in model.items():
        if name in saved and tuple(saved[name].shape) != tuple(tensor.shape):
            raise Refusal(
                f"checkpoint {checkpoint} does not fit the model: {name} is "
                f"{tuple(saved[name].shape)} there, {tuple(tensor.shape)} here; "
                "resume with the code that made it, or start a new run without --resume"
            )


def find(mode: str, runs: Path) -> tuple[int, Path] | None:
    """The (version, checkpoint) to resume under `mode`, or None to start a new run."""
    if mode == "never":
        return None
    found = latest_checkpoint(runs)
    if found is None:
        if mode == "auto":
            raise Refusal(
                f"nothing to resume: no unfinished run under {runs} has a checkpoints/last.ckpt "
                "(a finished run has nothing left to train); start a new run without --resume, "
                "or pass --resume auto-or-fresh to start one when there is none"
            )
        print(f"Nothing to resume under {runs}: starting a new run.")
        return None
    return found
