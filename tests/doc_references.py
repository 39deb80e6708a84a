"""What a document tells its reader to run or open: nox sessions, make targets, the package's
commands and presets, and paths, read from its code (inline code spans, code blocks, links)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

INLINE_CODE = re.compile(r"`([^`\n]+)`")
CODE_BLOCK = re.compile(r"^```[\w-]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\]\(([^)\s]+)\)")
# `nox [options] -s NAME [NAME ...]`, up to the first option or `--` (the session's arguments).
NOX = re.compile(r"\bnox\b[^#\n]*?\s-s((?:\s+[a-z][\w-]*)+)")
MAKE = re.compile(r"\bmake ([a-z][\w-]*)")
PACKAGE_COMMAND = re.compile(r"python -m (?:<package>|digit_classifier) ([a-z]\w*)")
PRESET = re.compile(r"--preset ([a-z][\w-]*)")
# A code span that is a relative path and nothing else, ending in a file name with an extension or
# in a slash: `requirements/dev.txt`, `src/<package>/`; not `val/acc` or `actions/setup-python`.
PATH = re.compile(r"[\w.<>-]+/(?:[\w.<>*-]+/)*(?:[\w<>*-]*\.[\w*]+)?")
# Where a path names what a run writes, a placeholder or another machine: not a file of the repo.
NOT_IN_THE_REPOSITORY = (
    "runs/",
    "reports/",  # `report` writes them
    "checkpoints/",
    "build/",
    "/",
    "~",
    "$",
    ".venv",
    ".nox",
    ".mypy_cache",
)


@dataclass
class References:
    sessions: set[str] = field(default_factory=set)
    make_targets: set[str] = field(default_factory=set)
    commands: set[str] = field(default_factory=set)
    presets: set[str] = field(default_factory=set)
    paths: set[str] = field(default_factory=set)


def code_of(text: str) -> list[str]:
    """The inline code spans and code-block lines (comments dropped) of a document."""
    blocks = CODE_BLOCK.findall(text)
    outside = CODE_BLOCK.sub("", text)
    lines = [line.split(" #")[0] for block in blocks for line in block.splitlines()]
    return INLINE_CODE.findall(outside) + lines


def references(text: str) -> References:
    found = References()
    for code in code_of(text):
        for names in NOX.findall(code):
            found.sessions.update(names.split())
        found.make_targets.update(MAKE.findall(code))
        found.commands.update(PACKAGE_COMMAND.findall(code))
        found.presets.update(PRESET.findall(code))
        if "/" in code and PATH.fullmatch(code) and not code.startswith(NOT_IN_THE_REPOSITORY):
            found.paths.add(code)
    found.paths.update(
        link.split("#")[0] for link in LINK.findall(text) if "://" not in link and link[0] != "#"
    )
    return found


def nox_sessions(noxfile: Path) -> set[str]:
    """Names of the functions that noxfile.py decorates with @nox.session (or its name=...)."""
    sessions: set[str] = set()
    for node in ast.walk(ast.parse(noxfile.read_text())):
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            target = call.func if call else decorator
            if isinstance(target, ast.Attribute) and target.attr == "session":
                renamed = [
                    keyword.value.value
                    for keyword in (call.keywords if call else [])
                    if keyword.arg == "name" and isinstance(keyword.value, ast.Constant)
                ]
                sessions.add(str(renamed[0]) if renamed else node.name)
    return sessions


def package_commands(cli: Path) -> set[str]:
    """The commands of the baked command line: the keys of its two command tables."""
    commands: set[str] = set()
    for node in ast.walk(ast.parse(cli.read_text())):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Dict):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if ast.unparse(target) in ("COMMANDS", "LIGHTNING_COMMANDS"):
                commands.update(ast.literal_eval(key) for key in node.value.keys if key)
    return commands


def make_targets(makefile: Path) -> set[str]:
    return set(re.findall(r"^([\w-]+):", makefile.read_text(), re.MULTILINE))


def path_exists(reference: str, roots: list[Path], package: str) -> bool:
    """Whether `reference` names a file or folder under one of `roots`: <placeholders> match any
    name, <package> the package's; a pattern the user's files will match (`notebooks/*.ipynb`)
    needs its folder."""
    if "*" in reference:
        reference = reference.rsplit("/", 1)[0]
    pattern = re.sub(r"<[^>]+>", "*", reference.replace("<package>", package)).rstrip("/")
    return any(next(root.glob(pattern), None) is not None for root in roots)
