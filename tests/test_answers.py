"""Bad answers: one clear line naming the answer and the fix, a non-zero exit, no folder left."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TEMPLATE
from locked_modules import HOOK, block, hook_block, import_names, locked_distributions
from options import CHOICES

BAD_ANSWERS = [
    # (answers, what the error must say)
    ({"project_name": "   "}, "project_name is empty"),
    (
        {"project_name": "Tab\there"},
        "project_name 'Tab\\there' holds control characters",
    ),
    ({"description": ""}, "description is empty"),
    ({"author_name": ""}, "author_name is empty"),
    (
        {"project_slug": "My Project"},
        "project_slug 'My Project' is not a valid distribution name",
    ),
    (
        {"project_slug": "-lead-dash"},
        "project_slug '-lead-dash' is not a valid distribution name",
    ),
    (
        {"project_slug": "two--dashes"},
        "project_slug 'two--dashes' is not a valid distribution name",
    ),
    (
        {"project_slug": "9lives"},
        "project_slug '9lives' is not a valid distribution name",
    ),
    (
        {"package_name": "my-package"},
        "package_name 'my-package' is not a valid import name",
    ),
    (
        {"package_name": "1st_model"},
        "package_name '1st_model' is not a valid import name",
    ),
    (
        {"package_name": "MyPackage"},
        "package_name 'MyPackage' is not a valid import name",
    ),
    ({"package_name": "class"}, "package_name 'class' is a Python keyword"),
    ({"package_name": "match"}, "package_name 'match' is a Python keyword"),
    (
        {"package_name": "json"},
        "package_name 'json' shadows the standard library module 'json'",
    ),
    (
        {"package_name": "typing"},
        "package_name 'typing' shadows the standard library module",
    ),
    (
        {"package_name": "torch"},
        "package_name 'torch' shadows the module 'torch' the project depends on",
    ),
    (
        {"package_name": "lightning"},
        "package_name 'lightning' shadows the module 'lightning'",
    ),
    ({"package_name": "tests"}, "package_name 'tests' shadows the module 'tests'"),
    # Import names of locked packages that differ from their distribution's name, and ones that
    # only an optional lock (sweep, a logger) or the tools' lock holds: all come from the locks.
    *(
        ({"package_name": name}, f"package_name {name!r} shadows the module {name!r} the project")
        for name in ("optuna", "wandb", "mlflow", "packaging", "yaml", "sklearn", "sqlalchemy")
    ),
    (
        {"project_name": "A" * 41},
        f"project_slug '{'a' * 41}' is 41 characters long: use at most 40",
    ),
    (
        {"package_name": "p" * 31},
        f"package_name '{'p' * 31}' is 31 characters long: use at most 30",
    ),
    (
        {"author_email": "ada.example.org"},
        "author_email 'ada.example.org' is not an email address",
    ),
    (
        {"author_email": "ada@localhost"},
        "author_email 'ada@localhost' is not an email address",
    ),
]
# Choice answers outside the list are refused by cookiecutter itself, before any hook runs.
BAD_CHOICES = [
    (
        {"python_version": "3.9"},
        "3.9 provided for choice variable python_version, but the choices are",
    ),
    (
        {"license": "GPL"},
        "GPL provided for choice variable license, but the choices are",
    ),
    (
        {"logger": "nope"},
        "nope provided for choice variable logger, but the choices are",
    ),
    (
        {"slurm": "maybe"},
        "maybe provided for choice variable slurm, but the choices are",
    ),
    (
        {"examples": "some"},
        "some provided for choice variable examples, but the choices are",
    ),
]


def run_cookiecutter(answers: dict[str, str], output: Path) -> subprocess.CompletedProcess[str]:
    pairs = [f"{key}={value}" for key, value in answers.items()]
    command = [
        sys.executable,
        "-m",
        "cookiecutter",
        "--no-input",
        "-o",
        str(output),
        str(TEMPLATE),
    ]
    return subprocess.run([*command, *pairs], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("answers", "message"), BAD_ANSWERS, ids=lambda v: str(v)[:40])
def test_bad_answer_is_refused_with_one_clear_line_and_no_folder(
    answers: dict[str, str], message: str, tmp_path: Path
) -> None:
    result = run_cookiecutter(answers, tmp_path)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr + result.stdout
    assert message in errors[0]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("answers", "message"), BAD_CHOICES, ids=lambda v: str(v)[:40])
def test_answer_outside_the_choices_is_refused_with_the_choices(
    answers: dict[str, str], message: str, tmp_path: Path
) -> None:
    result = run_cookiecutter(answers, tmp_path)
    assert result.returncode != 0
    assert message in result.stderr + result.stdout
    assert list(tmp_path.iterdir()) == []


def test_several_bad_answers_are_all_reported_at_once(tmp_path: Path) -> None:
    result = run_cookiecutter({"package_name": "torch", "author_email": "nobody"}, tmp_path)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert [error.split()[1] for error in errors] == ["package_name", "author_email"]
    assert list(tmp_path.iterdir()) == []


def test_the_answer_checks_accept_exactly_the_choices_of_cookiecutter_json() -> None:
    # The pre-generation hook sees only the chosen answer, so it keeps its own list of choices.
    hook = (TEMPLATE / "hooks" / "pre_gen_project.py").read_text()
    for option, constant in (("python_version", "SUPPORTED_PYTHONS"), ("license", "LICENSES")):
        (listed,) = re.findall(rf"^{constant} = (\(.*?\))", hook, re.MULTILINE)
        assert sorted(ast.literal_eval(listed)) == sorted(CHOICES[option]), option


def test_the_hooks_table_of_locked_modules_is_in_step_with_the_locks() -> None:
    # This session's environment holds the Linux CPU locks, as `nox -s import_names` does when it
    # writes the table: after a change of the locks, that session (which `nox -s locks` runs)
    # brings the hook in step.
    assert hook_block(HOOK.read_text()) == block(import_names()), "run `nox -s import_names`"
    assert len(locked_distributions()) > 100  # every lock of every Python was read
