"""The bundled examples, and how they leave: `nox -s drop_examples`, or a bake answered `examples=no`.

The examples (the digit classifier, the regression, their figures, applet, notebook cells and tests)
teach; a project of your own drops them in one step. What belongs to them is listed here alone, and
both ways of dropping them use this list. Everything else (infra/, its tests, presets, commands)
works unchanged on your own classes.

Standard library only: the template's post-generation hook runs this file before anything is
installed.
"""

from __future__ import annotations

import ast
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "{{ cookiecutter.package_name }}"
SOURCE = f"src/{PACKAGE}"
# The examples' modules, which nothing of yours may still import when they go.
MODULES = ("data", "model", "module", "figures", "app", "diabetes", "regressor")
# Removed whole: the examples' code, preset and tests (paths from the project's root).
FILES = (
    *(f"{SOURCE}/{module}.py" for module in MODULES),
    f"{SOURCE}/presets/diabetes.yaml",
    "tests/digits.yaml",
    "tests/test_app.py",
    "tests/test_data.py",
    "tests/test_diabetes.py",
    "tests/test_digits.py",
    "tests/test_model.py",
)
# Notebooks whose cells tagged EXAMPLE_TAG use the examples: those cells go, the others stay.
NOTEBOOKS = ("notebooks/explore_run.ipynb",)
EXAMPLE_TAG = "example"
CONFIG = f"{SOURCE}/config.yaml"
SWEEP = "sweeps/wandb.yaml"
# What config.yaml says with no model named: the next step, where the file is read.
CONFIG_WITHOUT_EXAMPLES = f"""\
# Your project's settings: what trains, on what, and which metric picks the best checkpoint. Every run
# starts from the template's defaults (infra/command_line/defaults.yaml: trainer and loggers), then
# this file; presets (--preset NAME), --config files and flags override both. `fit --print_config`
# shows the result.
#
# Name your LightningModule and LightningDataModule here: classes in files of your own beside this
# one (src/{PACKAGE}/), by import path, with the arguments they take. For example:
#
# model:
#   class_path: {PACKAGE}.my_model.MyModel
#   init_args:
#     hidden: 128
# data:
#   class_path: {PACKAGE}.my_data.MyData
#   init_args:
#     batch_size: 64
#
# Until then, `fit` says what to add here, and tests/test_your_project.py skips its checks.
# An epoch's batches bound how often the training loss is logged:
# trainer:
#   log_every_n_steps: 10
#
# The metric your module logs that picks the best checkpoint; `sweep` optimises it too unless the
# sweep file names another. A classifier that logs val/acc: monitor val/acc with mode max.
checkpoint:
  monitor: val/loss
  mode: min
"""
# The sweep file with no search space: the parameters are your model's and data's arguments.
SWEEP_WITHOUT_EXAMPLES = """\
# A hyperparameter sweep that both `python -m {{ cookiecutter.package_name }} sweep` (Optuna) and
# `wandb sweep sweeps/wandb.yaml` run. Each parameter is an argument of `fit` (see `fit --help`);
# tests/test_your_project.py parses every one of them with the command line's own parser.
name: {{ cookiecutter.package_name }}
method: bayes
metric:
  name: val/loss
  goal: minimize
# Your model's and data's arguments, for example:
#   model.learning_rate:
#     distribution: log_uniform_values
#     min: 3.0e-4
#     max: 3.0e-2
#   data.batch_size:
#     values: [32, 64, 128]
parameters: {}
# Stop poor runs early: W&B's hyperband; the Optuna sweep prunes runs below the median from min_iter
# epochs on.
early_terminate:
  type: hyperband
  min_iter: 2
# How `wandb agent` starts a run: ${args} expands to --model.learning_rate=... and so on.
command:
  - ${env}
  - python
  - -m
  - {{ cookiecutter.package_name }}
  - fit
  - --trainer.logger=lightning.pytorch.loggers.WandbLogger
  - ${args}
"""
REPLACED = {CONFIG: CONFIG_WITHOUT_EXAMPLES, SWEEP: SWEEP_WITHOUT_EXAMPLES}
NEXT_STEP = (
    f"Next: write your LightningModule and LightningDataModule in files of your own in {SOURCE}/, "
    f"name them in {CONFIG}, then run `nox -s lint tests` (tests/test_your_project.py checks "
    "your classes against what the template guarantees)."
)


class CannotDrop(Exception):
    """The examples cannot go as they are: the message says which files and what to do."""


@dataclass
class Plan:
    """What dropping the examples does to a project, worked out before anything changes."""

    remove: list[str] = field(default_factory=list)
    replace: list[str] = field(default_factory=list)
    notebooks: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.remove or self.replace or self.notebooks)


def _git(project: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(["git", *args], cwd=project, capture_output=True)
    except FileNotFoundError:
        return None
    return result.stdout.decode("utf-8", "replace") if result.returncode == 0 else None


def as_baked(project: Path, path: str) -> bytes | None:
    """The file as the project's first commit (the bake's) holds it; None where there is none."""
    roots = _git(project, "rev-list", "--max-parents=0", "HEAD")
    for root in (roots or "").split():
        try:
            result = subprocess.run(
                ["git", "show", f"{root}:{path}"], cwd=project, capture_output=True
            )
        except FileNotFoundError:
            return None
        if result.returncode == 0:
            return result.stdout
    return None


def _example_cells(notebook: dict[str, object]) -> list[object]:
    cells = notebook.get("cells")
    found = []
    for cell in cells if isinstance(cells, list) else []:
        tags = cell.get("metadata", {}).get("tags", []) if isinstance(cell, dict) else []
        if EXAMPLE_TAG in tags:
            found.append(cell)
    return found


def _names_examples(text: str) -> bool:
    return any(f"{PACKAGE}.{module}" in text for module in MODULES)


def _imports_an_example(node: ast.AST) -> bool:
    examples = {f"{PACKAGE}.{module}" for module in MODULES}
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module == PACKAGE:
        names = [f"{PACKAGE}.{alias.name}" for alias in node.names]  # from <package> import data
    elif isinstance(node, ast.ImportFrom):
        names = [node.module or ""]
    else:
        return False
    inside = tuple(f"{example}." for example in examples)
    return any(name in examples or name.startswith(inside) for name in names)


def _importers(project: Path, leaving: set[str]) -> list[str]:
    """Python files that stay but import an example module."""
    found = []
    for folder in ("src", "tests"):
        for path in sorted((project / folder).rglob("*.py")):
            relative = path.relative_to(project).as_posix()
            if relative in leaving:
                continue
            try:
                tree = ast.parse(path.read_bytes())
            except (SyntaxError, ValueError):
                continue  # not ours to judge: its own checks (flake8, mypy) will say
            if any(_imports_an_example(node) for node in ast.walk(tree)):
                found.append(relative)
    return found


def plan(project: Path, check_changes: bool = True) -> Plan:
    """What goes and what is rewritten; CannotDrop where that would lose work of yours.

    `check_changes`: refuse files that differ from the bake's first commit (git), so that nothing
    you changed is removed; the bake itself, which has no commit yet, drops without that check.
    """
    found = Plan()
    changed: list[str] = []
    for path in FILES:
        if (project / path).is_file():
            found.remove.append(path)
            if check_changes and (project / path).read_bytes() != as_baked(project, path):
                changed.append(path)
    for path in REPLACED:
        file = project / path
        if not file.is_file() or file.read_text(encoding="utf-8") == REPLACED[path]:
            continue
        if not check_changes or file.read_bytes() == as_baked(project, path):
            found.replace.append(path)
        elif _names_examples(file.read_text(encoding="utf-8")):
            changed.append(path)  # yours, but it still names the examples' classes
    for path in NOTEBOOKS:
        file = project / path
        if file.is_file() and _example_cells(json.loads(file.read_text(encoding="utf-8"))):
            found.notebooks.append(path)
    if check_changes and changed and as_baked(project, CONFIG) is None:
        raise CannotDrop(
            "cannot tell your changes from the examples without the bake's first commit (git): "
            f"remove the examples by hand ({', '.join(changed)})"
        )
    if changed:
        raise CannotDrop(
            f"changed since the bake: {', '.join(changed)}; drop_examples removes only the "
            "examples as they were made. Move what you want to keep into files of your own (and "
            "name your classes in config.yaml), or restore them (`git checkout <first commit> -- "
            "FILE`), then run it again"
        )
    importers = _importers(project, set(found.remove))
    if importers:
        raise CannotDrop(
            f"files of yours import the examples' modules, which would go ({', '.join(importers)}): "
            "make them import your own instead, then run it again"
        )
    return found


def apply(project: Path, found: Plan) -> None:
    """Carry out a plan made by `plan`."""
    for path in found.remove:
        (project / path).unlink()
    presets = project / SOURCE / "presets"
    if presets.is_dir() and not any(presets.iterdir()):
        presets.rmdir()
    for path in found.replace:
        (project / path).write_text(REPLACED[path], encoding="utf-8")
    for path in found.notebooks:
        file = project / path
        notebook = json.loads(file.read_text(encoding="utf-8"))
        examples = _example_cells(notebook)
        notebook["cells"] = [cell for cell in notebook["cells"] if cell not in examples]
        # As Jupyter and nbformat write notebooks: one space of indent, non-ASCII kept.
        file.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def drop(project: Path, check_changes: bool = True) -> list[str]:
    """Drop the examples from `project`; one line a file that went or changed, in order."""
    found = plan(project, check_changes)
    apply(project, found)
    return [
        *(f"removed   {path}" for path in found.remove),
        *(f"rewritten {path} (names no model yet)" for path in found.replace if path == CONFIG),
        *(f"rewritten {path} (no search space yet)" for path in found.replace if path == SWEEP),
        *(f"removed   the example cells of {path}" for path in found.notebooks),
    ]
