"""A baked project takes later template releases with `cruft update`, keeping its user's changes.

Real git histories, offline: the template is copied into a local git repository (commit A), a
project is baked from it (by cookiecutter, whose post-generation hook writes .cruft.json, or by
`cruft create`), its user commits their own changes, the template moves on (commit B, then C), and
cruft applies each release. The test reads the files that result, not cruft's messages: cruft says
"Good work!" and exits 0 even when git refused its patch.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

from cookiecutter import repository  # type: ignore[import-untyped]  # no type hints
import pytest
from conftest import TEMPLATE
from cookiecutter.main import cookiecutter  # type: ignore[import-untyped]  # no type hints

PROJECT_TEMPLATE = "{{cookiecutter.project_slug}}"
PACKAGE = "src/digit_classifier"
INFRA_FILE = f"{PACKAGE}/infra/command_line/errors.py"
USER_PRESET = f"{PACKAGE}/presets/diabetes.yaml"
CONFLICT_MARKERS = ("<<<<<<<", ">>>>>>>")
RELEASE_B_LINE = "\nRELEASE = 'B'  # the template's change\n"
IDENTITY = ["-c", "user.name=Test", "-c", "user.email=test@example.com"]
# The template's last commit with infra/ as 50 modules side by side, before its packages.
FLAT_LAYOUT = "b2d664d18a97195e9904cbcab0ab4e4132a17527"


def git(folder: Path, *args: str) -> str:
    command = ["git", *IDENTITY, *args]
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, check=True).stdout


def commit_all(folder: Path, message: str) -> str:
    git(folder, "add", "--all")
    git(folder, "commit", "--quiet", "--no-verify", "-m", message)
    return git(folder, "rev-parse", "HEAD").strip()


def copy_checkout(folder: Path) -> None:
    """This checkout's files, as they are now (committed or not), into `folder`."""
    listed = git(TEMPLATE, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, listed.split("\0")):
        source = TEMPLATE / name
        if source.is_file():  # a file deleted but not yet committed is listed, and absent
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, folder / name)


def template_repository(folder: Path) -> Path:
    """This checkout's files as commit A of a new repository."""
    copy_checkout(folder)
    git(folder, "init", "--quiet", "--initial-branch=main")
    commit_all(folder, "A")
    return folder


def in_template(template: Path, baked_name: str) -> Path:
    """The template's file that bakes into `baked_name` of the default project."""
    name = baked_name.replace("digit_classifier", "{{cookiecutter.package_name}}")
    return template / PROJECT_TEMPLATE / name


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not once in {path}"
    path.write_text(text.replace(old, new))


def bake(template: Path, output: Path, tool: str) -> Path:
    """Bake python_version=3.11 from `template`; a cruft bake is committed as its user would."""
    answers = {"python_version": "3.11"}
    if tool == "cookiecutter":
        return Path(
            cookiecutter(
                str(template), no_input=True, extra_context=answers, output_dir=str(output)
            )
        )
    command = [sys.executable, "-m", "cruft", "create", "--no-input", "--output-dir", str(output)]
    subprocess.run([*command, "--extra-context", json.dumps(answers), str(template)], check=True)
    project = output / "digit-classifier"
    git(project, "init", "--quiet", "--initial-branch=main")
    commit_all(project, "Initial commit")
    return project


def cruft_update(project: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "cruft",
        "update",
        "--skip-apply-ask",
        "--project-dir",
        str(project),
    ]
    subprocess.run(command, capture_output=True, text=True, timeout=300)


def template_check(project: Path) -> subprocess.CompletedProcess[str]:
    """The project's own `nox -s template_check`, in this environment (cruft: locked in dev.txt)."""
    command = [sys.executable, "-m", "nox", "--no-venv", "-s", "template_check"]
    return subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=300)


def project_files(project: Path) -> dict[str, str]:
    """Every file of the project with the sha256 of its content; its .git/ and the bytecode that
    running nox leaves (__pycache__/, where Python writes it) aside."""
    return {
        path.relative_to(project).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(project.rglob("*"))
        if path.is_file() and not {".git", "__pycache__"} & set(path.relative_to(project).parts)
    }


def conflicted(project: Path) -> set[str]:
    """The files that hold conflict markers, and the .rej files git apply left."""
    found = set()
    for name in project_files(project):
        text = (project / name).read_text(errors="replace")
        if name.endswith(".rej") or any(
            line.startswith(CONFLICT_MARKERS) for line in text.splitlines()
        ):
            found.add(name)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("tool", ["cookiecutter", "cruft"])
def test_cruft_update_brings_template_changes_and_keeps_the_users(
    tmp_path: Path, tool: str
) -> None:
    template = template_repository(tmp_path / "template")
    project = bake(template, tmp_path / "out", tool)
    recorded = json.loads((project / ".cruft.json").read_text())
    assert recorded["template"] == str(template)
    assert recorded["commit"] == git(template, "rev-parse", "HEAD").strip()
    assert git(project, "status", "--porcelain") == ""

    # The user: an own model, an edited README, a changed preset of their own.
    (project / PACKAGE / "my_model.py").write_text('"""My own model."""\n')
    edit(project / "README.md", "# Digit Classifier\n", "# Digit Classifier\n\nOur lab's fork.\n")
    edit(project / USER_PRESET, "    hidden: 64\n", "    hidden: 128\n")
    commit_all(project, "My changes")
    users = project_files(project)
    infra_at_a = (project / INFRA_FILE).read_text()

    # Template release B: an infrastructure change, a new preset, and an edit of the README far
    # from the user's.
    infra = in_template(template, INFRA_FILE)
    infra.write_text(infra.read_text() + RELEASE_B_LINE)
    preset = f"{PACKAGE}/infra/command_line/presets/tiny.yaml"
    in_template(template, preset).write_text("trainer:\n  max_epochs: 1\n")
    readme_end = in_template(template, "README.md").read_text().rstrip("\n").splitlines()[-1]
    edit(
        in_template(template, "README.md"),
        readme_end + "\n",
        readme_end + "\n\nA line the template added.\n",
    )
    release_b = commit_all(template, "B")

    behind = template_check(project)
    assert behind.returncode == 1 and "Project's cruft is out of date" in behind.stdout, behind
    cruft_update(project)

    assert conflicted(project) == set()
    assert (project / INFRA_FILE).read_text() == infra_at_a + RELEASE_B_LINE
    assert (project / preset).read_text() == "trainer:\n  max_epochs: 1\n"
    readme = (project / "README.md").read_text()
    assert "Our lab's fork." in readme and readme.endswith("A line the template added.\n")
    assert "    hidden: 128\n" in (project / USER_PRESET).read_text()
    assert json.loads((project / ".cruft.json").read_text())["commit"] == release_b
    after = project_files(project)
    changed = {name for name in users.keys() | after.keys() if users.get(name) != after.get(name)}
    assert changed == {".cruft.json", INFRA_FILE, preset, "README.md"}
    commit_all(project, "Template release B")
    assert template_check(project).returncode == 0

    # Template release C changes the very line the user changed: a conflict, reported in the file.
    edit(in_template(template, USER_PRESET), "    hidden: 64\n", "    hidden: 32\n")
    commit_all(template, "C")
    before = project_files(project)

    cruft_update(project)

    assert conflicted(project) == {USER_PRESET}
    preset_text = (project / USER_PRESET).read_text()
    assert "    hidden: 128\n" in preset_text and "    hidden: 32\n" in preset_text
    after = project_files(project)
    changed = {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}
    assert changed == {".cruft.json", USER_PRESET}


def test_a_template_url_is_recorded_without_its_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Baked from https://user:token@host/..., the committed .cruft.json names the host alone."""
    template = template_repository(tmp_path / "template")
    url = "https://someone:ghp_t0ken4242@git.example.com/team/fsdl-template.git"

    def clone_offline(
        repo_url: str, checkout: str | None, clone_to_dir: str, no_input: bool
    ) -> str:
        """cookiecutter's clone of `url`, from the local repository (git hosts are out of reach)."""
        target = Path(clone_to_dir) / "fsdl-template"
        git(tmp_path, "clone", "--quiet", str(template), str(target))
        git(target, "remote", "set-url", "origin", repo_url)
        return str(target)

    monkeypatch.setattr(repository, "clone", clone_offline)
    config = tmp_path / "cookiecutter.yaml"
    config.write_text(
        f"cookiecutters_dir: {tmp_path / 'clones'}\nreplay_dir: {tmp_path / 'replay'}\n"
    )
    project = Path(
        cookiecutter(
            url,
            no_input=True,
            extra_context={"python_version": "3.11"},
            output_dir=str(tmp_path / "out"),
            config_file=str(config),
        )
    )
    record = json.loads((project / ".cruft.json").read_text())
    assert record["template"] == "https://git.example.com/team/fsdl-template.git"
    assert record["context"]["cookiecutter"]["_template"] == record["template"]
    committed = git(project, "show", "HEAD:.cruft.json")
    assert "ghp_t0ken4242" not in committed and "someone" not in committed


@pytest.mark.slow
def test_cruft_update_moves_a_project_from_the_flat_infra_to_its_packages(tmp_path: Path) -> None:
    """A project baked when infra/ was flat, with only its own files changed, updates to this
    checkout's layout as if baked from it: every module moved, none left behind, the user's kept."""
    present = subprocess.run(["git", "cat-file", "-e", f"{FLAT_LAYOUT}^{{commit}}"], cwd=TEMPLATE)
    if present.returncode:
        pytest.fail(f"this clone lacks commit {FLAT_LAYOUT} (shallow?): git fetch --unshallow")
    template = tmp_path / "template"
    template.mkdir()
    archive = subprocess.run(
        ["git", "archive", FLAT_LAYOUT], cwd=TEMPLATE, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(template)], input=archive, check=True)
    git(template, "init", "--quiet", "--initial-branch=main")
    commit_all(template, "A: infra/ flat")
    project = bake(template, tmp_path / "out", "cookiecutter")
    assert (project / PACKAGE / "infra" / "runs_table.py").is_file()  # the flat layout

    # The user changes only files of their own: a model, a preset, the example's data module.
    (project / PACKAGE / "my_model.py").write_text('"""My own model."""\n')
    edit(project / USER_PRESET, "    hidden: 64\n", "    hidden: 128\n")
    future = "from __future__ import annotations\n"
    edit(project / PACKAGE / "data.py", future, future.replace("\n", "  # ours\n"))
    commit_all(project, "My changes")
    users = {
        name: digest
        for name, digest in project_files(project).items()
        if name in {f"{PACKAGE}/my_model.py", USER_PRESET, f"{PACKAGE}/data.py"}
    }

    # Release B: this checkout, with infra/ in packages.
    for entry in template.iterdir():
        if entry.name != ".git":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    copy_checkout(template)
    release_b = commit_all(template, "B: infra/ in packages")
    cruft_update(project)

    assert conflicted(project) == set()
    assert json.loads((project / ".cruft.json").read_text())["commit"] == release_b
    fresh = bake(template, tmp_path / "fresh", "cookiecutter")
    expected = {**project_files(fresh), **users}
    after = project_files(project)
    del expected[".cruft.json"], after[".cruft.json"]
    assert sorted(after.keys() ^ expected.keys()) == []
    assert sorted(name for name in after if after[name] != expected[name]) == []
