"""The command line's name, and the parser of the project's own commands (bench, doctor, gpus,
presets, report, runs, sweep).

argparse answers a bad option with its usage text and an error line, or even a traceback for a type
it cannot build; here every such mistake is a Refusal, so it ends as the project's one `error:` line
(errors.reported) naming the option and where the options are listed, with exit 2 as argparse's.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, NoReturn

from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal

# The command line's name, and Lightning's subcommands named apart from Lightning: the commands
# that only read files (`runs`, `presets`, `--help`) answer without importing torch.
PROG = "python -m {{ cookiecutter.package_name }}"
SUBCOMMANDS = ("fit", "validate", "test", "predict")


def path(text: str) -> Path:
    """A path argument; an empty one (`--output "$UNSET"`) names nothing, and is refused."""
    if not text:
        raise argparse.ArgumentTypeError("an empty path names no file or folder")
    return Path(text)


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are Refusals, which never abbreviates an option, and whose
    paths are never empty."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(**kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        if kwargs.get("type") is Path:
            kwargs["type"] = path
        return super().add_argument(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise Refusal(f"{self.prog}: {message} (`{self.prog} --help` lists the options)")
