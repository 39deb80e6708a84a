"""`fit --resume auto`: continue the latest run from its last checkpoint, with no path to type.

The latest run is the highest `version_N` under the logger's folder that holds `checkpoints/last.ckpt`.
Resuming restores the model, optimizer, scheduler and loop state from that checkpoint, and points the
logger at the same version, so logs and checkpoints continue in the same run directory.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from {{ cookiecutter.package_name }}.infra.errors import Refusal

MODES = ("never", "auto", "auto-or-fresh")


def latest_checkpoint(runs: Path) -> tuple[int, Path] | None:
    """(version, last.ckpt) of the newest run under `runs` that has one."""
    versions = []
    for folder in runs.glob("version_*"):
        match = re.fullmatch(r"version_(\d+)", folder.name)
        if match and (folder / "checkpoints" / "last.ckpt").is_file():
            versions.append((int(match.group(1)), folder / "checkpoints" / "last.ckpt"))
    return max(versions, default=None)


def check_readable(checkpoint: Path) -> None:
    """Fail now, before anything is written, if `checkpoint` is not a loadable checkpoint."""
    try:
        state = torch.load(checkpoint, map_location="cpu", weights_only=False, mmap=True)
    except Exception as error:  # torch raises many kinds for a damaged file
        raise Refusal(
            f"checkpoint {checkpoint} cannot be read ({type(error).__name__}: {error}); "
            "move it away to resume from an older run, or start fresh without --resume"
        ) from None
    if not isinstance(state, dict) or "state_dict" not in state or "loops" not in state:
        raise Refusal(
            f"checkpoint {checkpoint} is not a full training checkpoint (no model or loop state); "
            "move it away, or start fresh without --resume"
        )


def find(mode: str, runs: Path) -> tuple[int, Path] | None:
    """The (version, checkpoint) to resume under `mode`, or None to start a new run."""
    if mode == "never":
        return None
    found = latest_checkpoint(runs)
    if found is None:
        if mode == "auto":
            raise Refusal(
                f"nothing to resume: no {runs}/version_*/checkpoints/last.ckpt; start a new run "
                "without --resume, or pass --resume auto-or-fresh to start one when there is none"
            )
        print(f"Nothing to resume under {runs}: starting a new run.")
        return None
    check_readable(found[1])
    return found
