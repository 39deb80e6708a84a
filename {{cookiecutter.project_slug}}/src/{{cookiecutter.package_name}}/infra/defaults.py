"""Where every run's settings start: the template's defaults.yaml, then your config.yaml.

LightningCLI reads these files first (`--preset`, `--config` and flags override them); `doctor`, `bench`
and `sweep` read the same files through `load`, so no other module opens them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

# The template's defaults (trainer, loggers) beside this file; your choices (model, data, the metric
# that picks the best checkpoint) in config.yaml at the top of the package. Later files win.
FILES = (
    Path(str(files(__package__) / "defaults.yaml")),
    Path(str(files("{{ cookiecutter.package_name }}") / "config.yaml")),
)


def merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` on top of `base`, mapping by mapping, as LightningCLI merges config files."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load(extra: Iterable[Path] = ()) -> dict[str, Any]:
    """The defaults, then `extra` files (presets) in order, merged into one configuration."""
    config: dict[str, Any] = {}
    for path in (*FILES, *extra):
        config = merge(config, yaml.safe_load(path.read_text()) or {})
    return config


def first_logger() -> dict[str, Any]:
    """The logger that makes the run directory: the first of `trainer.logger` in the defaults."""
    loggers = load()["trainer"]["logger"]
    first: dict[str, Any] = loggers[0] if isinstance(loggers, list) else loggers
    return first
