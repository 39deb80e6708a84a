"""Shared fixtures: every test runs in its own empty folder, so runs/ never leaks between tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.infra.cli import main

Refused = Callable[[list[str]], str]


@pytest.fixture(autouse=True)
def in_tmp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def refused(capsys: pytest.CaptureFixture[str]) -> Refused:
    """Run the command line with `args`, expect exit status 2, and return what it printed to stderr."""

    def run(args: list[str]) -> str:
        with pytest.raises(SystemExit) as exit_info:
            main(args)
        assert exit_info.value.code == 2
        return capsys.readouterr().err

    return run
