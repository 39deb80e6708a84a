"""The user guide stays in step with the template."""

from __future__ import annotations

from conftest import TEMPLATE
from options import options_table, with_options_table


def test_guide_options_table_matches_cookiecutter_json() -> None:
    guide = (TEMPLATE / "docs" / "guide.md").read_text()
    assert with_options_table(guide, options_table()) == guide, "run `nox -s docs`"


def test_readme_quick_start_commands_are_the_ones_ci_runs() -> None:
    readme = (TEMPLATE / "README.md").read_text()
    ci = (TEMPLATE / ".ci" / "run").read_text()
    assert "nox -s demo" in readme
    assert "nox -s lint tests" in readme and "nox -s lint tests" in ci
