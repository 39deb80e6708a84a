"""`--ckpt_path FILE`: a checkpoint that exists and holds a model, checked before anything runs."""

from __future__ import annotations

from pathlib import Path

from {{ cookiecutter.package_name }}.infra import checkpoints
from {{ cookiecutter.package_name }}.infra.errors import Refusal

# Names Lightning resolves itself, from the trainer's checkpoint callbacks or the hub.
LIGHTNING_NAMES = ("best", "last", "hpc", "registry")


def check(ckpt_path: str | None, command: str) -> None:
    """Raise Refusal when `ckpt_path` is neither a name Lightning resolves nor a checkpoint file."""
    if ckpt_path is None or ckpt_path.split(":")[0] in LIGHTNING_NAMES:
        return
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
