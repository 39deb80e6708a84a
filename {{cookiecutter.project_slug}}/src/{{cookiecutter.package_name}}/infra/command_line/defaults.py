"""Where every run's settings start: the template's defaults.yaml, then your config.yaml.

LightningCLI reads these files first (`--preset`, `--config` and flags override them); `doctor`, `bench`
and `sweep` read the same files through `load`, so no other module opens them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

from {{ cookiecutter.package_name }}.infra.command_line import config_files

# The template's defaults (trainer, loggers) beside this file; your choices (model, data, the metric
# that picks the best checkpoint) in config.yaml at the top of the package. Later files win.
DEFAULTS = Path(str(files(__package__) / "defaults.yaml"))
PROJECT_CONFIG = Path(str(files("{{ cookiecutter.package_name }}") / "config.yaml"))
# A settings file to read in config.yaml's place, for every command and the processes it starts:
# the tests of infra/ point it at a small project of their own (tests/small_project.yaml).
CONFIG_VARIABLE = "{{ cookiecutter.package_name | upper }}_CONFIG"


def files_in_order() -> tuple[Path, Path]:
    """defaults.yaml, then the project's settings: config.yaml, or the file CONFIG_VARIABLE names."""
    chosen = os.environ.get(CONFIG_VARIABLE)
    return DEFAULTS, Path(chosen) if chosen else PROJECT_CONFIG


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
    for path in (*files_in_order(), *extra):
        config = merge(config, config_files.read(path, empty_allowed=True))
    return config


def first_logger() -> dict[str, Any]:
    """The logger that makes the run directory: the first of `trainer.logger` in the defaults."""
    loggers = load()["trainer"]["logger"]
    first: dict[str, Any] = loggers[0] if isinstance(loggers, list) else loggers
    return first
