"""Finish the bake: drop the files of options not chosen, make the first commit, print next steps.

Nothing here touches the network; a missing git only skips the commit.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

PYTHON = {{ cookiecutter.python_version | tojson }}
LICENSE = {{ cookiecutter.license | tojson }}
LOGGER = {{ cookiecutter.logger | tojson }}
SLURM = {{ cookiecutter.slurm | tojson }}
PACKAGE = {{ cookiecutter.package_name | tojson }}
SLUG = {{ cookiecutter.project_slug | tojson }}
AUTHOR = {{ cookiecutter.author_name | tojson }}
EMAIL = {{ cookiecutter.author_email | tojson }}


def place_locks(project: Path) -> None:
    """Move the locks compiled for the chosen Python into requirements/; drop the others.

    The macOS lock holds every .in file, the logger's too, so there is one per logger.
    """
    for lock in (project / "locks" / f"py{PYTHON}").glob("*.txt"):
        name = lock.name
        if name.startswith("macos-arm64-"):
            if name != f"macos-arm64-{LOGGER}.txt":
                continue
            name = "macos-arm64.txt"
        lock.replace(project / "requirements" / name)
    shutil.rmtree(project / "locks")


def prune(project: Path) -> None:
    """Remove what belongs to options that were not chosen."""
    if LICENSE == "none":
        (project / "LICENSE").unlink()
    # Each logger ships tests/test_logger_<name>.py, and maybe requirements/<name>.in with its lock
    # and src/<package>/infra/<name>_logger.py; keep the chosen logger's files only.
    for test in (project / "tests").glob("test_logger_*.py"):
        logger = test.stem.removeprefix("test_logger_")
        if logger != LOGGER:
            test.unlink()
            for path in [
                *(project / "requirements").glob(f"{logger}.*"),
                project / "src" / PACKAGE / "infra" / f"{logger}_logger.py",
            ]:
                path.unlink(missing_ok=True)
    if SLURM == "no":
        # The job scripts, and the requeue-on-preemption callback that only SLURM jobs use.
        shutil.rmtree(project / "scripts" / "slurm")
        (project / "docs" / "slurm.md").unlink()
        (project / "src" / PACKAGE / "infra" / "preemption.py").unlink()
        (project / "tests" / "test_preemption.py").unlink()


def first_commit(project: Path) -> str:
    """Make the project a git repository with one commit; say what happened."""
    git = shutil.which("git")
    if git is None:
        return "git not found: run `git init` yourself (pre-commit needs a repository)."
    identity = ["-c", f"user.name={AUTHOR}", "-c", f"user.email={EMAIL}"]
    steps = {
        "init": [git, "init", "--quiet", "--initial-branch=main"],
        "add": [git, "add", "--all"],
        "commit": [git, *identity, "commit", "--quiet", "--no-verify", "-m", "Initial commit from fsdl-template"],
    }
    for name, step in steps.items():
        result = subprocess.run(step, cwd=project, capture_output=True, text=True)
        if result.returncode != 0:
            return f"git {name} failed ({result.stderr.strip()}): finish the first commit by hand."
    return "Created a git repository with the first commit."


def main() -> None:
    project = Path.cwd()
    place_locks(project)
    prune(project)
    print(first_commit(project))
    steps = [
        (f"cd {SLUG}", ""),
        ("conda env create -f environment.yml", "GPU box; environment-cpu.yml on a laptop or Mac"),
        (f"conda activate {SLUG}", ""),
        ("pip install --require-hashes --no-deps -r requirements/dev.txt", "nox, uv, the tools"),
        ("nox -s sync", "the locks for this machine, into the active environment"),
        (f"python -m {PACKAGE} doctor", "GPUs, CUDA, packages against the locks, presets"),
        (f"python -m {PACKAGE} fit --preset debug", "a one-batch smoke test"),
        (f"python -m {PACKAGE} fit", "a real run: see runs/"),
        ("nox -s lint tests", "what CI runs"),
    ]
    width = max(len(command) for command, _ in steps)
    print("\nNext steps:")
    for command, why in steps:
        print(f"  {command:{width}}  # {why}" if why else f"  {command}")


if __name__ == "__main__":
    main()
