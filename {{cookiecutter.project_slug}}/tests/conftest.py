"""Shared fixtures: every test runs in its own empty folder, so runs/ never leaks between tests."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.infra import locks
from {{ cookiecutter.package_name }}.infra.cli import main

Refused = Callable[[list[str]], str]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--slow",
        action="store_true",
        help="also run the tests marked slow (several processes, many epochs), as CI does",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The suite before every commit stays short; CI runs the slow tests too (`nox -s tests -- --slow`).
    if config.getoption("--slow"):
        return
    for item in items:
        if item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.skip(reason="slow: `nox -s tests -- --slow` runs it, as CI does"))


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


def write_locks(folder: Path, pins: dict[str, str]) -> Path:
    """A requirements folder whose prod and dev locks pin `pins` (torch at the installed version).

    Where the installed torch is PyPI's build (not +cpu), prod-cpu.txt is a marked fallback, as the
    project's own CPU lock is where torch's CPU build could not be resolved.
    """
    folder.mkdir()
    # torch's distribution version: PyPI's CUDA build says 2.13.0 there, 2.13.0+cu130 in code.
    installed = version("torch")
    torch_pin = f"torch=={installed} \\\n    --hash=sha256:00\n"
    fallback = "" if "+cpu" in installed else f"{locks.CPU_FALLBACK_MARK} PyPI's torch\n"
    (folder / "prod.txt").write_text(torch_pin)
    (folder / "prod-cpu.txt").write_text(fallback + torch_pin)
    (folder / "dev.txt").write_text(
        "".join(f"{name}=={pinned} \\\n    --hash=sha256:00\n" for name, pinned in pins.items())
    )
    return folder
