"""Weights & Biases, offline unless an API key is available.

The key comes from the environment (WANDB_API_KEY) or `wandb login` (~/.netrc) and is never taken as
an argument, so it cannot end up in a saved config.yaml. Offline runs are files under runs/ that
`wandb sync` uploads later.
"""

from __future__ import annotations

import netrc
import os
from typing import Any

from lightning.pytorch.loggers import WandbLogger as LightningWandbLogger


def has_api_key() -> bool:
    """Whether W&B can authenticate: WANDB_API_KEY, or an entry for its host in ~/.netrc."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError):
        return False


class WandbLogger(LightningWandbLogger):
    """Lightning's W&B logger with `offline` decided by whether a key is available (None)."""

    def __init__(
        self,
        save_dir: str = "runs",
        project: str | None = None,
        name: str | None = None,
        offline: bool | None = None,
        log_model: bool = False,
        **kwargs: Any,
    ) -> None:
        offline = not has_api_key() if offline is None else offline
        super().__init__(
            name=name,
            save_dir=save_dir,
            project=project,
            offline=offline,
            log_model=log_model,
            **kwargs,
        )
