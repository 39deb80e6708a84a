"""The user guide stays in step with the template."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from clean_machine import readme_command
from conftest import TEMPLATE, Bake
from doc_references import (
    References,
    make_targets,
    nox_sessions,
    package_commands,
    path_exists,
    references,
)
from options import CHOICES, options_table, with_options_table


def test_guide_options_table_matches_cookiecutter_json() -> None:
    guide = (TEMPLATE / "docs" / "guide.md").read_text()
    assert with_options_table(guide, options_table()) == guide, "run `nox -s docs`"


def test_readme_quick_start_commands_are_the_ones_ci_runs() -> None:
    ci = (TEMPLATE / ".ci" / "run").read_text()
    # .ci/run takes the README's test command itself, and runs it on a clean machine.
    assert "python3 tests/clean_machine.py --python /usr/bin/python3 --readme tests -- --slow" in ci
    # and both of the README's commands again in a fresh Debian 13 (tests/fresh_debian.py).
    assert "python3 tests/fresh_debian.py --root /var/tmp/fsdl-debian13 demo tests" in ci
    assert readme_command("tests").endswith(".venv/bin/nox -s lint tests")
    assert readme_command("demo").endswith(".venv/bin/nox -s demo")
    for kind in ("tests", "demo"):
        assert readme_command(kind).startswith("python3 -m venv .venv && ")


# The files of a bake whose words name commands and paths: its documents, and the comments of the
# files a reader opens first.
BAKED_DOCUMENTS = [
    "README.md",
    "docs/*.md",
    "notebooks/README.md",
    "Makefile",
    "environment*.yml",
    "sweeps/wandb.yaml",
    ".vscode/settings.json",
]
TEMPLATE_DOCUMENTS = ["README.md", "docs/guide.md", "docs/gpu.md"]
# What the template's documents name on purpose that no repository holds: the example of a user's
# own preset, and folders of a conda environment.
NAMED_BUT_NOT_SHIPPED = frozenset(
    {"long", "src/<package>/presets/long.yaml", "lib/", "conda-meta/conda-*.json"}
)


def unknown_references(
    document: Path,
    text: str,
    known: References,
    roots: list[Path],
    expected: frozenset[str] = frozenset(),
) -> list[str]:
    """What `text` names that does not exist (beyond `expected`), each as 'document: kind name'."""
    named = references(text)
    missing = [
        *(f"nox session {name}" for name in named.sessions - known.sessions),
        *(f"make target {name}" for name in named.make_targets - known.make_targets),
        *(f"command {name}" for name in named.commands - known.commands),
        *(f"preset {name}" for name in named.presets - known.presets),
        *(
            f"path {path}"
            for path in named.paths
            if not path_exists(path, [document.parent, *roots], "digit_classifier")
        ),
    ]
    return [
        f"{document.name}: {problem}"
        for problem in sorted(missing)
        if problem.split()[-1] not in expected
    ]


def what_a_bake_offers(project: Path) -> References:
    package = project / "src" / "digit_classifier"
    return References(
        sessions=nox_sessions(project / "noxfile.py"),
        make_targets=make_targets(project / "Makefile"),
        commands=package_commands(package / "infra" / "cli.py"),
        presets={preset.stem for preset in package.glob("**/presets/*.yaml")},
    )


@pytest.mark.parametrize(
    "answers",
    [{"logger": logger} for logger in CHOICES["logger"]] + [{"slurm": "no"}],
    ids=lambda answers: "-".join(answers.values()),
)
def test_every_command_and_path_a_baked_document_names_exists(
    bake: Bake, answers: dict[str, str]
) -> None:
    project = bake(**answers)
    known = what_a_bake_offers(project)
    roots = [project, project / "src" / "digit_classifier"]  # `infra/` is the package's
    problems = [
        problem
        for pattern in BAKED_DOCUMENTS
        for document in sorted(project.glob(pattern))
        for problem in unknown_references(document, document.read_text(), known, roots)
    ]
    assert problems == [], "\n".join(problems)


def test_every_command_and_path_the_template_documents_name_exists(bake: Bake) -> None:
    # The template's documents speak of the template's own sessions and files, and of a bake's.
    project = bake(slurm="yes")
    known = what_a_bake_offers(project)
    known.sessions |= nox_sessions(TEMPLATE / "noxfile.py")
    problems = [
        problem
        for name in TEMPLATE_DOCUMENTS
        for problem in unknown_references(
            TEMPLATE / name,
            (TEMPLATE / name).read_text(),
            known,
            [TEMPLATE, project, project / "src" / "digit_classifier"],
            NAMED_BUT_NOT_SHIPPED,
        )
    ]
    assert problems == [], "\n".join(problems)


def test_reference_reader_finds_what_a_document_names() -> None:
    # The reader itself, on a made-up document: what the tests above rely on it to find.
    text = (
        "Run `nox -s lint tests` or `make env-cpu`, then\n"
        "```bash\npython -m digit_classifier fit --preset gpu --preset bf16   # `nox -s no`\n```\n"
        "See `requirements/dev.txt`, [slurm](docs/slurm.md#top) and `runs/<package>/version_N/`."
    )
    named = references(text)
    assert named.sessions == {"lint", "tests"}
    assert named.make_targets == {"env-cpu"}
    assert named.commands == {"fit"}
    assert named.presets == {"gpu", "bf16"}
    assert named.paths == {"requirements/dev.txt", "docs/slurm.md"}


def test_the_guides_package_count_of_a_cpu_sync_is_that_of_the_locks() -> None:
    guide = " ".join((TEMPLATE / "docs" / "guide.md").read_text().split())
    (claimed,) = re.findall(r"those four locks of Python 3\.11 hold (\d+) packages today", guide)
    locks = TEMPLATE / "{{cookiecutter.project_slug}}" / "locks" / "py3.11"
    names = {
        match.group(1).lower()
        for lock in ("prod-cpu", "dev", "sweep", "tensorboard")
        for line in (locks / f"{lock}.txt").read_text().splitlines()
        if (match := re.match(r"([A-Za-z0-9._-]+)==", line))
    }
    assert int(claimed) == len(names)


def test_the_readme_names_every_make_target_and_nox_session_of_a_bake(bake: Bake) -> None:
    project = bake()
    (row,) = (
        line
        for line in (TEMPLATE / "README.md").read_text().splitlines()
        if line.startswith("| `noxfile.py`, `Makefile` |")
    )
    makefile = (project / "Makefile").read_text()
    (phony,) = re.findall(r"^\.PHONY: (.*)$", makefile, re.MULTILINE)
    named_targets = set(re.findall(r"`make ([\w-]+)`", row))
    assert named_targets == set(phony.split())
    noxfile = (project / "noxfile.py").read_text()
    sessions = set(re.findall(r"^@nox\.session.*\ndef (\w+)\(", noxfile, re.MULTILINE))
    assert sessions <= set(re.findall(r"`(\w+)`", row)), sessions
