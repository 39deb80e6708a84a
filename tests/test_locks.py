"""The locks a project ships: recompiling them changes nothing, and its sessions refuse bad ones.

`sync` and `tests` stop, naming the file and the fix, on a lock out of step with its .in file,
a missing lock, or an interpreter that matches neither lock target; `sync` refuses a Python that is
no environment of its own, says what it will change, and says when it stopped part-way. The sync
tests put recording `uv` and `pip-sync` commands and a pip-less virtualenv on PATH, so nothing real
is installed whatever happens.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import venv
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from packaging.tags import Tag, compatible_tags, cpython_tags, mac_platforms
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import Version
from baked_nox import calls, recording_command, run_nox
from clean_machine import served_index
from conftest import TEMPLATE, Bake
from options import CHOICES
from stand_in_torch import stand_in_torch_wheel

RUNNING_PYTHON = "{}.{}".format(*sys.version_info[:2])
DEFAULT_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def pipless_python(folder: Path) -> Path:
    """bin/ of a virtualenv of the running Python without pip: nothing can be installed there."""
    venv.create(folder, with_pip=False)
    return folder / "bin"


def global_python(folder: Path) -> Path:
    """bin/ holding `python`: the base interpreter of these tests, no environment of its own."""
    folder.mkdir(parents=True)
    base = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    (folder / "python").symlink_to(base)
    return folder


def sync_tools(folder: Path, *installers: str) -> Path:
    """A folder with recording `installers` (uv, pip-sync) and nox: nothing real is installed."""
    for name in installers:
        recording_command(folder, name)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nox").symlink_to(Path(sys.executable).parent / "nox")
    return folder


def run_sync(
    project: Path, python_bin: Path, tools: Path, *args: str, **variables: str
) -> subprocess.CompletedProcess[str]:
    """`nox -s sync ARGS` with only `python_bin`, `tools` and the system folders on PATH."""
    path = os.pathsep.join([str(python_bin), str(tools), "/usr/bin", "/bin"])
    return run_nox(project, "-s", "sync", *args, variables={"PATH": path, **variables})


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


SHIPPED = TEMPLATE / "{{cookiecutter.project_slug}}" / "locks"
CPU_BUILD_PYTHON = next(
    version
    for version in CHOICES["python_version"]
    if not (SHIPPED / f"py{version}" / "prod-cpu.txt").read_text().startswith("# CPU lock fallback")
)
FALLBACK_PYTHON = next(v for v in CHOICES["python_version"] if v != CPU_BUILD_PYTHON)


@pytest.fixture
def cpu_index(
    request: pytest.FixtureRequest, index_url: str | None, tmp_path: Path
) -> Iterator[str]:
    """The CPU index the recompile resolves against: for the CPU build, one listing torch's real
    wheel (the loopback mirror, else torch's own index where it answers); for the fallback, a mirror
    listing torch for another Python only, so the fallback stays a fallback on any machine."""
    if request.param == "fallback":
        with served_index(
            stand_in_torch_wheel(tmp_path / "wheels", CPU_BUILD_PYTHON).parent
        ) as url:
            assert url is not None
            yield url
        return
    url = index_url or DEFAULT_CPU_INDEX
    try:
        urllib.request.urlopen(f"{url}/torch/", timeout=10).close()
    except OSError as error:
        message = f"torch's CPU index {url} cannot be reached here ({error}), nor a local wheel"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    yield url


@pytest.mark.parametrize(
    ("python", "cpu_index"),
    [(CPU_BUILD_PYTHON, "cpu-build"), (FALLBACK_PYTHON, "fallback")],
    ids=["cpu-build", "fallback"],
    indirect=["cpu_index"],
)
def test_recompiling_the_shipped_locks_without_upgrading_changes_nothing(
    bake: Bake, cpu_index: str, python: str
) -> None:
    project = bake(python_version=python)
    variables = {"TORCH_CPU_INDEX_URL": cpu_index}
    result = run_nox(project, "--no-venv", "-s", "lock", variables=variables)
    assert result.returncode == 0, result.stdout[-3000:]
    diff = subprocess.run(
        ["git", "diff", "--stat", "--exit-code", "requirements/"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert diff.returncode == 0, diff.stdout
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True, check=True
    )
    assert status.stdout == ""  # and no file left behind (such as prod-cpu.txt.new)


def test_tests_session_stops_on_a_lock_out_of_step_before_running_tests(bake: Bake) -> None:
    project = bake()
    append(project / "requirements" / "prod.in", "rich\n")
    result = run_nox(project, "--no-venv", "-s", "tests")
    assert result.returncode == 1
    assert "locks out of step with their .in files:" in result.stdout
    assert (
        "requirements/prod.txt does not pin rich, which prod.in asks for: "
        "run `nox -s lock` to recompile it" in result.stdout
    )
    assert "pytest" not in result.stdout


def test_sync_stops_on_a_lock_out_of_step_before_installing(bake: Bake, tmp_path: Path) -> None:
    project = bake(python_version=RUNNING_PYTHON)
    tools = sync_tools(tmp_path / "tools", "uv")
    (project / "requirements" / "dev.in").write_text(
        (project / "requirements" / "dev.in").read_text().replace("black\n", "")
    )
    result = run_sync(project, pipless_python(tmp_path / "venv"), tools)
    assert result.returncode == 1
    assert (
        "requirements/dev.txt pins black for dev.in, which no longer asks for it: "
        "run `nox -s lock` to recompile it" in result.stdout
    )
    assert calls(tools / "uv") == []


def test_sync_names_a_missing_lock_of_a_chosen_option(bake: Bake, tmp_path: Path) -> None:
    project = bake(python_version=RUNNING_PYTHON, logger="tensorboard")
    (project / "requirements" / "tensorboard.txt").unlink()
    tools = sync_tools(tmp_path / "tools", "uv")
    result = run_sync(project, pipless_python(tmp_path / "venv"), tools, "--", "gpu")
    assert result.returncode == 1
    assert (
        "missing lock requirements/tensorboard.txt (needed for the gpu target): "
        "run `nox -s lock` to compile it" in result.stdout
    )
    assert calls(tools / "uv") == []


def test_sync_refuses_a_python_that_matches_neither_target(bake: Bake, tmp_path: Path) -> None:
    other_python = next(python for python in CHOICES["python_version"] if python != RUNNING_PYTHON)
    project = bake(python_version=other_python)
    tools = sync_tools(tmp_path / "tools", "uv")
    python_bin = pipless_python(tmp_path / "venv")
    result = run_sync(project, python_bin, tools, "--", "gpu")
    assert result.returncode == 1
    assert (
        f"{python_bin / 'python'} is Python {RUNNING_PYTHON}, but the locks in requirements/ for "
        "the gpu target install on Linux x86_64 with glibc 2.28 or newer and Python "
        f"{other_python}: activate the project's conda environment" in result.stdout
    )
    assert calls(tools / "uv") == []


LINUX_LOCKS = "requirements/dev.txt requirements/sweep.txt requirements/tensorboard.txt"


def cpu_source(project: Path, argument: str) -> str:
    """`argument` and a space where the bake's CPU lock pins torch's CPU build (which needs torch's
    index); nothing for a fallback lock (PyPI's torch; test_cpu_fallback.py covers its move)."""
    lock = (project / "requirements" / "prod-cpu.txt").read_text()
    return "" if lock.startswith("# CPU lock fallback") else f"{argument} "


def installs(tools: Path, name: str) -> list[str]:
    """The calls of a recording installer, without the CPU lock's resolution that a fallback lock
    asks of uv first (the recording uv writes no lock, so the fallback stays)."""
    return [call for call in calls(tools / name) if not call.startswith("pip compile ")]


@pytest.mark.parametrize(
    ("target", "arguments"),
    [
        ("gpu", f"requirements/prod.txt {LINUX_LOCKS}"),
        ("cpu", f"requirements/prod-cpu.txt {LINUX_LOCKS}"),
    ],
)
def test_sync_installs_the_targets_locks_with_uv_saying_what_changes(
    bake: Bake, tmp_path: Path, target: str, arguments: str
) -> None:
    project = bake(python_version=RUNNING_PYTHON, logger="tensorboard")
    tools = sync_tools(tmp_path / "tools", "uv", "pip-sync")
    python_bin = pipless_python(tmp_path / "venv")
    python = python_bin / "python"
    result = run_sync(project, python_bin, tools, "--", target, TORCH_CPU_FIND_LINKS="/wheels")
    assert result.returncode == 0, result.stdout[-3000:]
    if target == "cpu":
        arguments = cpu_source(project, "--find-links=/wheels") + arguments
    # Said before the installer's silent minutes: what it installs, and torch's size.
    cpu_build = "--find-links" in arguments
    torch = "the CPU build, about 190 MB" if cpu_build else "with "
    assert re.search(
        rf"installing \d+ locked packages, hash-checked; torch is the largest \({re.escape(torch)}",
        result.stdout,
    ), result.stdout[-3000:]
    assert installs(tools, "uv") == [
        f"pip sync --python={python} --require-hashes {arguments}",
        f"pip install --python={python} --no-deps --no-build-isolation --editable .",
    ]
    assert calls(tools / "pip-sync") == []
    assert f"sync will remove 0 packages in {python}" in result.stdout
    assert re.search(
        rf"sync will install [1-9]\d* packages in {re.escape(str(python))}", result.stdout
    )


def test_sync_falls_back_to_pip_sync_and_says_when_it_stops_part_way(
    bake: Bake, tmp_path: Path
) -> None:
    project = bake(python_version=RUNNING_PYTHON, logger="csv")
    tools = sync_tools(tmp_path / "tools", "pip-sync")  # no uv
    python_bin = pipless_python(tmp_path / "venv")
    python = python_bin / "python"
    result = run_sync(project, python_bin, tools, "--", "cpu", TORCH_CPU_FIND_LINKS="/wheels")
    pip_args = cpu_source(project, " --pip-args=--find-links=/wheels").rstrip()
    assert calls(tools / "pip-sync") == [
        f"--python-executable={python} requirements/prod-cpu.txt requirements/dev.txt "
        f"requirements/sweep.txt{pip_args}"
    ]
    # The project itself is installed next, with pip, which this virtualenv lacks.
    assert result.returncode == 1
    assert (
        f"the sync stopped part-way, so the environment of {python} may hold a mix "
        "of old and new packages: fix the error above, then run `nox -s sync` again"
        in result.stdout
    )


def test_sync_refuses_a_python_that_is_no_environment_of_its_own(
    bake: Bake, tmp_path: Path
) -> None:
    project = bake(python_version=RUNNING_PYTHON)
    tools = sync_tools(tmp_path / "tools", "uv", "pip-sync")
    python_bin = global_python(tmp_path / "global")
    result = run_sync(project, python_bin, tools, "--", "cpu")
    assert result.returncode == 1
    assert (
        f"refusing to sync {python_bin / 'python'}: it is not a virtualenv or conda environment, "
        "and a sync removes every package the locks do not name." in result.stdout
    )
    assert calls(tools / "uv") == [] and calls(tools / "pip-sync") == []


def test_sync_into_a_system_python_only_when_asked_for(bake: Bake, tmp_path: Path) -> None:
    project = bake(python_version=RUNNING_PYTHON, logger="csv")
    tools = sync_tools(tmp_path / "tools", "uv")
    python_bin = global_python(tmp_path / "global")
    result = run_sync(project, python_bin, tools, "--", "gpu", "--system-python")
    assert result.returncode == 0, result.stdout[-3000:]
    assert len(calls(tools / "uv")) == 2


def test_sync_dry_run_says_what_changes_and_installs_nothing(bake: Bake, tmp_path: Path) -> None:
    project = bake(python_version=RUNNING_PYTHON, logger="csv")
    tools = sync_tools(tmp_path / "tools", "uv")
    result = run_sync(project, pipless_python(tmp_path / "venv"), tools, "--", "gpu", "--dry-run")
    assert result.returncode == 0, result.stdout[-3000:]
    assert re.search(r"sync will install [1-9]\d* packages in ", result.stdout)
    assert calls(tools / "uv") == []


@pytest.mark.parametrize("arguments", [["cpu", "gpu"], ["cpu", "--dryrun"], ["laptop"]])
def test_sync_refuses_arguments_it_does_not_know(
    bake: Bake, tmp_path: Path, arguments: list[str]
) -> None:
    project = bake(python_version=RUNNING_PYTHON)
    tools = sync_tools(tmp_path / "tools", "uv")
    result = run_sync(project, pipless_python(tmp_path / "venv"), tools, "--", *arguments)
    assert result.returncode == 1
    assert (
        f"unexpected arguments {' '.join(arguments)!r}: give `-- [gpu | cpu | macos] [--dry-run] "
        "[--system-python]`" in result.stdout
    )
    assert calls(tools / "uv") == []


def baked_locks_module(project: Path) -> ModuleType:
    """The baked project's `locks` module (the rules its nox sessions and doctor apply)."""
    (package,) = (path.parent.name for path in project.glob("src/*/__init__.py"))
    for name in [name for name in sys.modules if name.split(".")[0] == package]:
        del sys.modules[name]  # an earlier bake's package of the same name
    sys.path.insert(0, str(project / "src"))
    try:
        return importlib.import_module(f"{package}.infra.machine.locks")
    finally:
        sys.path.remove(str(project / "src"))


@pytest.mark.parametrize("python", CHOICES["python_version"])
@pytest.mark.parametrize("logger", CHOICES["logger"])
def test_every_bake_ships_every_targets_locks_in_step_and_hash_checked(
    bake: Bake, python: str, logger: str
) -> None:
    project = bake(python_version=python, logger=logger)
    locks = baked_locks_module(project)
    requirements = project / "requirements"
    assert locks.out_of_step(requirements, python) == []
    for target in locks.TARGETS:
        for lock in locks.locks_for(requirements, target):
            pins = locks.read_lock(lock)
            assert pins and all(pin.hashes > 0 for pin in pins.values()), lock
    cpu_lock = (requirements / "prod-cpu.txt").read_text()
    if "torch==2.13.0+cpu" not in cpu_lock:
        # Where torch's CPU build was out of reach when the template's locks were compiled.
        assert cpu_lock.startswith(
            f"# CPU lock fallback: torch's CPU build for Python {python} could not be resolved"
        )
        assert "`nox -s lock` moves it to the +cpu build" in cpu_lock


def macos_arm64_tags(python: str) -> set[Tag]:
    """The wheel tags a CPython `python` on macOS 14 on Apple silicon accepts."""
    version = tuple(int(part) for part in python.split("."))
    platforms = list(mac_platforms((14, 0), "arm64"))
    return {
        *cpython_tags(version, platforms=platforms),
        *compatible_tags(version, platforms=platforms),
    }


def pypi_wheels(name: str, version: str) -> list[tuple[frozenset[Tag], str]]:
    """The wheels PyPI holds for one release: (tags, sha256), from its JSON simple API."""
    request = urllib.request.Request(
        f"https://pypi.org/simple/{name}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    files: list[dict[str, Any]] = []
    for attempt in range(3):  # a lookup that fails once (DNS under load) is not a missing wheel
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                files = json.load(response)["files"]
            break
        except urllib.error.URLError:
            if attempt == 2:
                raise
            time.sleep(2)
    wheels = []
    for file in files:
        try:
            _, found, _, tags = parse_wheel_filename(file["filename"])
        except InvalidWheelFilename:
            continue  # a source distribution, or an old wheel named against today's rules
        if found == Version(version):
            wheels.append((tags, file["hashes"].get("sha256", "")))
    return wheels


@pytest.mark.parametrize("python", CHOICES["python_version"])
def test_every_package_of_the_macos_lock_has_a_hashed_apple_silicon_wheel(
    bake: Bake, python: str
) -> None:
    project = bake(python_version=python, logger="mlflow")  # the logger with most packages
    locks = baked_locks_module(project)
    lock = project / "requirements" / locks.MACOS_LOCK
    hashes: dict[str, set[str]] = {}
    name = ""  # the pin the lines below belong to
    for line in lock.read_text().splitlines():
        if re.match(r"[\w.-]+==", line):
            name = canonicalize_name(line.split("==")[0])
        hashes.setdefault(name, set()).update(re.findall(r"--hash=sha256:([0-9a-f]{64})", line))
    pins = locks.read_lock(lock)
    assert not any(locks.is_cuda_only(name) for name in pins)
    accepted = macos_arm64_tags(python)
    with ThreadPoolExecutor(max_workers=8) as pool:
        releases = dict(
            zip(pins, pool.map(lambda pin: pypi_wheels(pin.name, pin.version), pins.values()))
        )
    lacking = [
        f"{name}=={pins[name].version}"
        for name, wheels in releases.items()
        if not any(accepted & tags and digest in hashes[name] for tags, digest in wheels)
    ]
    assert lacking == []
    assert pins["torch"].version == "2.13.0"
