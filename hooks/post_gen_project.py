"""Finish the bake: drop the files of options not chosen, record the template's source in
.cruft.json, make the first commit, print next steps.

cruft renders the template through this hook too, for `cruft create` and for both sides of the diff
that `cruft update` applies. There the hook makes no git repository (a .git/ in a render would put
.git/index into that diff, which git apply refuses) and writes no .cruft.json (cruft writes its own).

Nothing here touches the network; a missing git only skips the record and the commit.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PYTHON = {{ cookiecutter.python_version | tojson }}
LICENSE = {{ cookiecutter.license | tojson }}
LOGGER = {{ cookiecutter.logger | tojson }}
SLURM = {{ cookiecutter.slurm | tojson }}
EXAMPLES = {{ cookiecutter.examples | tojson }}
PACKAGE = {{ cookiecutter.package_name | tojson }}
SLUG = {{ cookiecutter.project_slug | tojson }}
AUTHOR = {{ cookiecutter.author_name | tojson }}
EMAIL = {{ cookiecutter.author_email | tojson }}
# The whole context (tojson twice: a Python string holding JSON, whatever the answers hold), and its
# keys in cookiecutter.json's order (tojson sorts them).
CONTEXT = json.loads({{ cookiecutter | tojson | tojson }})
KEYS = {{ cookiecutter.keys() | list | tojson }}
# cruft adds the template's commit to the context; cookiecutter never does.
RENDERED_BY_CRUFT = "_commit" in CONTEXT
# cookiecutter's details of this run (where it wrote, where it read): not answers, not for .cruft.json.
RUN_DETAILS = ("_output_dir", "_repo_dir", "_checkout", "__prompts__")


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
                project / "src" / PACKAGE / "infra" / "training" / f"{logger}_logger.py",
            ]:
                path.unlink(missing_ok=True)
    if SLURM == "no":
        # The job scripts, and the requeue-on-preemption callback that only SLURM jobs use.
        shutil.rmtree(project / "scripts" / "slurm")
        (project / "docs" / "slurm.md").unlink()
        (project / "src" / PACKAGE / "infra" / "machine" / "preemption.py").unlink()
        (project / "tests" / "test_preemption.py").unlink()


def drop_examples(project: Path) -> None:
    """Bake straight into the state that the project's `nox -s drop_examples` leaves: the list of
    what belongs to the examples, and how they go, is the project's own infra/tools/examples.py."""
    path = project / "src" / PACKAGE / "infra" / "tools" / "examples.py"
    spec = importlib.util.spec_from_file_location("examples_of_this_bake", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    sys.dont_write_bytecode = True  # no __pycache__/ left in the project
    spec.loader.exec_module(module)
    module.drop(project, check_changes=False)  # before the first commit: nothing to compare


def git_says(folder: Path, *args: str) -> str | None:
    """git's answer in `folder`, or None where git fails (not a repository, no such remote)."""
    result = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else None


def template_folder() -> Path | None:
    """The template's folder. cookiecutter gives it as the user typed it, maybe relative to where
    cookiecutter started; while this hook runs, cookiecutter works inside that folder."""
    given = Path(CONTEXT["_repo_dir"])
    if given.is_absolute():
        return given
    candidates = [
        Path(f"/proc/{os.getppid()}/cwd"),  # cookiecutter's working folder (Linux)
        Path(os.environ.get("PWD", ".")) / given,  # the shell's folder, relative to which it was typed
        Path(CONTEXT["_output_dir"]) / given,
    ]
    for candidate in candidates:
        if (candidate / "cookiecutter.json").is_file():
            return candidate.resolve()
    return None


def without_credentials(url: str) -> str:
    """`url` without the user and password (or token) of an http(s) URL, and without the password
    of any other (ssh://git@host keeps its user): .cruft.json is committed, and git asks for the
    credentials (or its credential helper gives them) when `cruft update` fetches."""
    parts = urlsplit(url)
    if not parts.scheme or "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = "" if parts.scheme.lower() in ("http", "https") else (parts.username or "")
    return urlunsplit(parts._replace(netloc=f"{user}@{host}" if user else host))


def record_template_source(project: Path) -> str:
    """Write .cruft.json as `cruft create` does: the template's source and commit, the answers.

    `cruft update` renders the answers at that commit and at the template's newest one, and applies
    the difference to the project; `cruft check` says whether the project is behind.
    """
    folder = template_folder()
    top = git_says(folder, "rev-parse", "--show-toplevel") if folder else None
    commit = git_says(folder, "rev-parse", "HEAD") if folder else None
    if folder is None or top is None or commit is None:
        return (
            f"The template ({CONTEXT['_template']}) is not a git checkout: no .cruft.json written; "
            "`cruft link TEMPLATE_URL` records it later, for template updates."
        )
    # A local template is read where it is; a remote one from cookiecutter's clone of it.
    local = CONTEXT["_repo_dir"].startswith(CONTEXT["_template"])
    source = top if local else (git_says(folder, "remote", "get-url", "origin") or top)
    source = without_credentials(source)
    directory = folder.resolve().relative_to(Path(top).resolve()).as_posix()
    answers = {key: CONTEXT[key] for key in KEYS if key not in RUN_DETAILS}
    answers |= {"_template": source, "_commit": commit}
    record = {
        "template": source,
        "commit": commit,
        "checkout": CONTEXT.get("_checkout"),
        "context": {"cookiecutter": answers},
        "directory": None if directory == "." else directory,
    }
    text = json.dumps(record, ensure_ascii=False, indent=2, separators=(",", ": ")) + "\n"
    (project / ".cruft.json").write_text(text, encoding="utf-8")
    return f"Recorded the template's source and commit {commit[:12]} in .cruft.json."


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
    if EXAMPLES == "no":
        drop_examples(project)
    if RENDERED_BY_CRUFT:
        return  # a render for cruft: no repository, no record, nothing to say (see the docstring)
    if shutil.which("git") is not None:
        print(record_template_source(project))
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
