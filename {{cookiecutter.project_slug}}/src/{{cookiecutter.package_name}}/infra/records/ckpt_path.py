"""`--ckpt_path FILE`: a checkpoint that exists and holds a model, checked before anything runs.

validate, test and predict also take `best` and `last`: the newest fit's best or last checkpoint,
found in its run folder and printed. Lightning's own names would mean the checkpoints of a trainer
that has not trained (so the initial weights, silently) or a registry online: refused.
"""

from __future__ import annotations

from pathlib import Path

from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal
from {{ cookiecutter.package_name }}.infra.records import (
    checkpoints,
    folders as run_folders,
    loading as run_loading,
    record as run_record,
)

# Names Lightning resolves itself, from the trainer's own checkpoint callbacks (which a command
# that starts afresh has not run yet), a SLURM requeue's checkpoint, or a model registry online.
LIGHTNING_NAMES = ("best", "last", "hpc", "registry")
# The names validate, test and predict take for the newest fit's checkpoints.
NEWEST = ("best", "last")


def newest(name: str, command: str, runs: Path) -> Path:
    """The best or last checkpoint of the newest fit under `runs` that has one, said aloud."""
    for _, folder in run_folders.versions(runs):
        started, _ = run_record.read(folder)
        if started is not None and started.get("command") != "fit":
            continue  # a validate, test or predict run: it trained nothing
        last = folder / run_loading.CHECKPOINTS / run_loading.LAST
        found = run_loading.best_checkpoint(folder) if name == "best" else last
        if found is not None and found.is_file():
            print(f"{command} --ckpt_path {name}: {found}, the {name} checkpoint of the newest fit")
            return found
    raise Refusal(
        f"{command} --ckpt_path {name}: no fit under {runs} has a {name} checkpoint; fit first, "
        "or give a checkpoint file (runs/<name>/version_N/checkpoints/*.ckpt)"
    )


def check(ckpt_path: str | None, command: str) -> None:
    """Raise Refusal when `ckpt_path` is not a checkpoint file (names resolved first: `newest`)."""
    if ckpt_path is None:
        return
    if ckpt_path.split(":")[0] in LIGHTNING_NAMES:
        instead = "continue a run with --resume auto" if command == "fit" else "give best or last"
        raise Refusal(
            f"{command} --ckpt_path {ckpt_path} names no checkpoint this command can find: "
            f"{instead}, or give a checkpoint file (runs/<name>/version_N/checkpoints/*.ckpt)"
        )
    path = Path(ckpt_path)
    if not path.is_file():
        raise Refusal(
            f"{command} --ckpt_path {path}: no such file; give a checkpoint of a run "
            "(runs/<name>/version_N/checkpoints/*.ckpt)"
        )
    try:
        state = checkpoints.read(path)
    except Refusal:
        raise  # it carries more than data: not opened
    except Exception:  # torch raises many kinds for a file that is not a checkpoint
        raise Refusal(
            f"{command} --ckpt_path {path} is not a checkpoint (torch cannot load it); give a "
            "checkpoint of a run (runs/<name>/version_N/checkpoints/*.ckpt)"
        ) from None
    if not isinstance(state, dict) or "state_dict" not in state:
        raise Refusal(
            f"{command} --ckpt_path {path} holds no model weights (state_dict): give a "
            "checkpoint that Lightning saved"
        )
