"""Fixtures of the template's tests: an isolated home, and a function that bakes a project."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from clean_machine import torch_cpu_index
from cookiecutter.main import cookiecutter  # type: ignore[import-untyped]  # no type hints

TEMPLATE = Path(__file__).resolve().parents[1]
Bake = Callable[..., Path]


SLOW_TIER = "the slow tier: `nox -s tests -- --slow` runs it, as CI does"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--slow",
        action="store_true",
        help="also run the slow tier: clean machines for every Python, services, screenshots",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "slow: minutes long, or needs a service (SLURM, PostgreSQL, Chromium): runs with --slow",
    )
    config.addinivalue_line(
        "markers", "long: minutes on one worker; started first, while the others share the rest"
    )
    config.addinivalue_line(
        "markers",
        "alone: runs after the others, one at a time (its daemons keep deadlines that other "
        "tests' load would make it miss); `nox -s tests` runs these last",
    )


def long_tests_first(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """`items` reordered so that each of `workers` pytest-xdist workers starts with its share of the
    long tests: worksteal hands each worker an equal run of consecutive items at first."""
    long = [item for item in items if item.get_closest_marker("long")]
    rest = iter([item for item in items if not item.get_closest_marker("long")])
    ordered: list[pytest.Item] = []
    for worker in range(workers):
        share = long[worker::workers]
        run = (worker + 1) * len(items) // workers - worker * len(items) // workers
        ordered += share + list(itertools.islice(rest, max(run - len(share), 0)))
    return ordered + list(rest)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The long tests first on every worker, so that they run side by side while the rest is
    shared; without --slow, the slow tier's tests skip, saying how to run them."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    items[:] = long_tests_first(items, workers)
    if config.getoption("--slow"):
        return
    for item in items:
        if item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.skip(reason=SLOW_TIER))


@pytest.fixture(scope="session", autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point HOME, caches, cookiecutter's replay dir and temp files at a scratch folder.

    Nothing the tests run (cookiecutter, pre-commit, mypy, pip, nox) writes to the real home.
    """
    home = tmp_path_factory.mktemp("home")
    config = home / "cookiecutter.yaml"
    config.write_text(
        f"replay_dir: {home / 'replay'}\ncookiecutters_dir: {home / 'cookiecutters'}\n"
    )
    (home / "tmp").mkdir()
    patch = pytest.MonkeyPatch()
    for name, value in {
        "HOME": home,
        "XDG_CACHE_HOME": home / "cache",
        "PRE_COMMIT_HOME": home / "pre-commit",
        "COOKIECUTTER_CONFIG": config,
        "TMPDIR": home / "tmp",
        # A test that needs another Python finds it here or skips; uv never fetches one for it.
        "UV_PYTHON_DOWNLOADS": "never",
    }.items():
        patch.setenv(name, str(value))
    yield home
    patch.undo()


@pytest.fixture
def bake(tmp_path: Path) -> Bake:
    """Bake the template with `answers` into a fresh folder; return the project's path."""

    def run(output: str = "out", **answers: str) -> Path:
        """`output`: a folder of its own under the test's, for a second bake in one test."""
        project = cookiecutter(
            str(TEMPLATE), no_input=True, extra_context=answers, output_dir=str(tmp_path / output)
        )
        return Path(project)

    return run


def environment_without_venv_markers() -> dict[str, str]:
    """The current environment, for subprocesses that must not inherit pytest's own variables."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}


@pytest.fixture(scope="session")
def index_url() -> Iterator[str | None]:
    """torch's CPU index for the baked projects: a loopback mirror of the wheels at hand (or the
    index an outer clean-machine harness set), else None: torch's own index."""
    with torch_cpu_index() as url:
        yield url
