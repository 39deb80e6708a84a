"""Presets: small YAML config files shipped in the package, chosen with `--preset NAME`.

The template's presets are in infra/command_line/presets/; yours go in presets/ at the top of the
package (a preset of yours with a template preset's name replaces it). Each `--preset NAME` becomes
`--config <folder>/NAME.yaml`, so presets merge in the order given, like any LightningCLI config,
and flags after them still win. Two presets that set the same field to different values are
refused rather than silently resolved by their order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

from {{ cookiecutter.package_name }}.infra.command_line import config_files
from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal

# The template's presets, then yours (a folder that need not exist); a later folder wins a name.
PRESET_DIRS = (
    Path(str(files(__package__) / "presets")),
    Path(str(files("{{ cookiecutter.package_name }}") / "presets")),
)


def _files() -> dict[str, Path]:
    """Each preset's name and file, sorted by name."""
    found = {
        entry.stem: entry
        for directory in PRESET_DIRS
        if directory.is_dir()
        for entry in directory.glob("*.yaml")
    }
    return dict(sorted(found.items()))


def available() -> dict[str, str]:
    """Map each preset name to its one-line description (the file's first comment); a preset that
    is no settings file (config_files.read) is refused, naming it."""
    described = {}
    for name, entry in _files().items():
        config_files.read(entry)
        described[name] = config_files.text(entry).splitlines()[0].lstrip("# ").strip()
    return described


def path(name: str) -> Path:
    """The file of preset `name`; a clear error listing the valid names if there is none."""
    found = _files()
    if name not in found:
        raise Refusal(f"unknown preset {name!r}; valid presets: {', '.join(found)}")
    return found[name]


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
        for field, value in _leaves(config_files.read(path(name))):
            if field in setter and setter[field][1] != value:
                other, other_value = setter[field]
                raise Refusal(
                    f"presets {other!r} and {name!r} conflict: {field} is {other_value!r} in one and "
                    f"{value!r} in the other; keep one of them"
                )
            setter[field] = (name, value)


def names(config_files: Iterable[object]) -> list[str]:
    """The presets among a command's `--config` files (as `expand` gives them), in order."""
    folders = {directory.resolve() for directory in PRESET_DIRS}
    paths = [Path(str(config_file)).resolve() for config_file in config_files]
    return [path.stem for path in paths if path.parent in folders]


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
