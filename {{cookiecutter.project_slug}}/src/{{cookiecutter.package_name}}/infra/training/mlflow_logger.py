"""MLflow with its store under runs/ by default, at absolute paths.

MLflow caches its store per tracking URI; a relative `sqlite:///runs/mlflow.db` would keep writing to
the database of the folder where it was first opened, so relative locations are made absolute here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import MLFlowLogger as LightningMLFlowLogger
from lightning.pytorch.utilities import rank_zero_only

SQLITE = "sqlite:///"


class MLFlowLogger(LightningMLFlowLogger):
    """Lightning's MLflow logger, resolving a relative SQLite store and artifact folder."""

    def __init__(
        self,
        experiment_name: str = "lightning_logs",
        tracking_uri: str = f"{SQLITE}runs/mlflow.db",
        artifact_location: str = "runs/mlartifacts",
        **kwargs: Any,
    ) -> None:
        if getattr(rank_zero_only, "rank", 0) != 0:
            # Only rank 0 logs. The others still open a store on creation: in memory, so no two
            # processes migrate the same SQLite file at once (which fails under DDP).
            tracking_uri = f"{SQLITE}:memory:"
        elif tracking_uri.startswith(SQLITE):
            tracking_uri = SQLITE + str(Path(tracking_uri.removeprefix(SQLITE)).absolute())
        super().__init__(
            experiment_name=experiment_name,
            tracking_uri=tracking_uri,
            artifact_location=str(Path(artifact_location).absolute()),
            **kwargs,
        )
