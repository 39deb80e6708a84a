"""The YAML files a user writes for settings (config.yaml, presets, `--config` files), read as data.

One reader for all of them: UTF-8 text, YAML without aliases (an alias bomb expands to gigabytes
before anything else could refuse it, and settings never need one), and one mapping of settings. A
file that is not is refused in one line that names it, the place and the fix, before jsonargparse,
the presets or the sweep read it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError

from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal

# What a file holds instead of settings, in words.
KINDS: dict[type, str] = {
    type(None): "nothing",
    list: "a list",
    str: "a text",
    int: "a number",
    float: "a number",
    bool: "true or false",
}


class NoAliasLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing aliases (`*name`) where they occur."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise ComposerError(
                None,
                None,
                "an alias (*name), which settings files do not take: write the value out",
                self.peek_event().start_mark,  # type: ignore[no-untyped-call]  # PyYAML's stubs
            )
        return super().compose_node(parent, index)


def text(path: Path) -> str:
    """The text of `path`, or a Refusal naming what makes it unreadable."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise Refusal(f"{path} cannot be read ({error.strerror})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Refusal(
            f"{path} is not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start}): "
            "save it as UTF-8"
        ) from None


def read(path: Path, empty_allowed: bool = False) -> dict[str, Any]:
    """The settings in `path`: a mapping, {} for a file of comments alone where `empty_allowed`."""
    try:
        loaded = yaml.load(text(path), Loader=NoAliasLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f", line {mark.line + 1}" if mark else ""
        problem = " ".join(str(part) for part in (error.context, error.problem) if part)
        raise Refusal(f"{path}{where}: {problem}: fix the YAML there") from None
    except yaml.YAMLError as error:
        raise Refusal(f"{path}: {' '.join(str(error).split())}: fix the YAML there") from None
    if loaded is None and empty_allowed:
        return {}
    if not isinstance(loaded, dict):
        held = KINDS.get(type(loaded), f"a {type(loaded).__name__}")
        raise Refusal(
            f"{path} holds {held}, not settings: write them as sections of names and values "
            "(trainer:, then max_epochs: 10 indented below it), as the presets do"
        )
    return loaded


def check_command_line(args: list[str]) -> None:
    """Read every file given as `--config FILE` in `args` (presets become such files) with `read`.

    A `--config` value that is no file is left to jsonargparse, which takes YAML text there too.
    """
    for index, arg in enumerate(args):
        if arg == "--config" and index + 1 < len(args):
            given = args[index + 1]
        elif arg.startswith("--config="):
            given = arg.partition("=")[2]
        else:
            continue
        if Path(given).is_file():
            read(Path(given))
