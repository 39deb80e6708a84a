"""The user guide stays in step with the template."""

from __future__ import annotations

from clean_machine import readme_command
from conftest import TEMPLATE
from options import options_table, with_options_table


def test_guide_options_table_matches_cookiecutter_json() -> None:
    guide = (TEMPLATE / "docs" / "guide.md").read_text()
    assert with_options_table(guide, options_table()) == guide, "run `nox -s docs`"


def test_readme_quick_start_commands_are_the_ones_ci_runs() -> None:
    ci = (TEMPLATE / ".ci" / "run").read_text()
    # .ci/run takes the README's test command itself, and runs it on a clean machine.
    assert "python3 tests/clean_machine.py --python /usr/bin/python3 --readme tests" in ci
    assert readme_command("tests").endswith(".venv/bin/nox -s lint tests")
    assert readme_command("demo").endswith(".venv/bin/nox -s demo")
    for kind in ("tests", "demo"):
        assert readme_command(kind).startswith("python3 -m venv .venv && ")
