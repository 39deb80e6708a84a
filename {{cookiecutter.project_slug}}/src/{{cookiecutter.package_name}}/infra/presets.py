"""Presets: small YAML config files shipped in the package, chosen with `--preset NAME`.

Each `--preset NAME` becomes `--config <package>/presets/NAME.yaml`, so presets merge in the order
given, like any LightningCLI config, and flags after them still win. Two presets that set the same
field to different values are refused rather than silently resolved by their order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from {{ cookiecutter.package_name }}.infra.errors import Refusal

PRESET_DIR = files(__package__) / "presets"


def available() -> dict[str, str]:
    """Map each preset name to its one-line description (the file's first comment)."""
    descriptions = {}
    for entry in sorted(PRESET_DIR.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            first_line = entry.read_text().splitlines()[0]
            descriptions[entry.name.removesuffix(".yaml")] = first_line.lstrip("# ").strip()
    return descriptions


def path(name: str) -> Path:
    """The file of preset `name`; a clear error listing the valid names if there is none."""
    names = available()
    if name not in names:
        raise Refusal(f"unknown preset {name!r}; valid presets: {', '.join(names)}")
    return Path(str(PRESET_DIR / f"{name}.yaml"))


def _leaves(tree: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in tree.items():
        if isinstance(value, Mapping):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def check_compatible(names: list[str]) -> None:
    """Refuse presets that set the same field to different values (such as fp16 and bf16)."""
    setter: dict[str, tuple[str, Any]] = {}
    for name in names:
        for field, value in _leaves(yaml.safe_load(path(name).read_text()) or {}):
            if field in setter and setter[field][1] != value:
                other, other_value = setter[field]
                raise Refusal(
                    f"presets {other!r} and {name!r} conflict: {field} is {other_value!r} in one and "
                    f"{value!r} in the other; keep one of them"
                )
            setter[field] = (name, value)


def expand(args: list[str]) -> list[str]:
    """Replace every `--preset NAME` (or `--preset=NAME`) in `args` with `--config <file>`."""
    expanded: list[str] = []
    names: list[str] = []
    rest = iter(args)
    for arg in rest:
        if arg == "--preset" or arg.startswith("--preset="):
            name = arg.partition("=")[2] if "=" in arg else next(rest, "")
            if not name:
                raise Refusal(f"--preset needs a name; valid presets: {', '.join(available())}")
            if not expanded:
                raise Refusal("--preset goes after the subcommand, as in: fit --preset debug")
            names.append(name)
            expanded += ["--config", str(path(name))]
        else:
            expanded.append(arg)
    check_compatible(names)
    return expanded
