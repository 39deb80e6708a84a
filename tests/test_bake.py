"""Every valid combination of answers bakes into exactly the expected files, all of which parse."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import jsonc
import pytest
import yaml
from conftest import TEMPLATE, Bake
from options import all_combinations, label

COMBINATIONS = all_combinations()

# The files of a project baked with the defaults (package `digit_classifier`), .git/ aside.
DEFAULT_FILES = {
    ".cruft.json",
    ".devcontainer/Dockerfile",
    ".devcontainer/devcontainer.json",
    ".flake8",
    ".github/dependabot.yml",
    ".github/workflows/ci.yml",
    ".gitignore",
    ".pre-commit-config.yaml",
    ".streamlit/config.toml",
    ".vscode/extensions.json",
    ".vscode/launch.json",
    ".vscode/settings.json",
    ".vscode/tasks.json",
    "LICENSE",
    "Makefile",
    "README.md",
    "docs/faults.md",
    "docs/remote-development.md",
    "docs/scaling.md",
    "docs/security.md",
    "docs/slurm.md",
    "environment-cpu.yml",
    "environment.yml",
    "notebooks/README.md",
    "notebooks/explore_run.ipynb",
    "noxfile.py",
    "pyproject.toml",
    "requirements/dev.in",
    "requirements/dev.txt",
    "requirements/macos-arm64.txt",
    "requirements/prod-cpu.txt",
    "requirements/prod.in",
    "requirements/prod.txt",
    "requirements/sweep.in",
    "requirements/sweep.txt",
    "requirements/tensorboard.in",
    "requirements/tensorboard.txt",
    "scripts/slurm/sweep.sbatch",
    "scripts/slurm/train.sbatch",
    "scripts/torchrun.sh",
    # Your code and configuration, at the top of the package.
    "src/digit_classifier/__init__.py",
    "src/digit_classifier/__main__.py",
    "src/digit_classifier/config.yaml",
    "src/digit_classifier/data.py",
    "src/digit_classifier/model.py",
    "src/digit_classifier/module.py",
    "src/digit_classifier/figures.py",
    "src/digit_classifier/app.py",
    "src/digit_classifier/py.typed",
    # The second example: a regression, added as a user adds a model (files and a preset).
    "src/digit_classifier/diabetes.py",
    "src/digit_classifier/regressor.py",
    "src/digit_classifier/presets/diabetes.yaml",
    # The template's infrastructure.
    "src/digit_classifier/infra/__init__.py",
    "src/digit_classifier/infra/command_line/__init__.py",
    "src/digit_classifier/infra/machine/__init__.py",
    "src/digit_classifier/infra/records/__init__.py",
    "src/digit_classifier/infra/tools/__init__.py",
    "src/digit_classifier/infra/training/__init__.py",
    "src/digit_classifier/infra/tools/bench.py",
    "src/digit_classifier/infra/records/checkpoints.py",
    "src/digit_classifier/infra/records/ckpt_path.py",
    "src/digit_classifier/infra/training/classes.py",
    "src/digit_classifier/infra/cli.py",
    "src/digit_classifier/infra/machine/cluster.py",
    "src/digit_classifier/infra/command_line/parser.py",
    "src/digit_classifier/infra/training/compiling.py",
    "src/digit_classifier/infra/command_line/config_files.py",
    "src/digit_classifier/infra/command_line/credentials.py",
    "src/digit_classifier/infra/command_line/defaults.py",
    "src/digit_classifier/infra/command_line/defaults.yaml",
    "src/digit_classifier/infra/machine/doctor.py",
    "src/digit_classifier/infra/tools/examples.py",
    "src/digit_classifier/infra/records/fingerprints.py",
    "src/digit_classifier/infra/command_line/errors.py",
    "src/digit_classifier/infra/machine/hardware.py",
    "src/digit_classifier/infra/training/interrupt.py",
    "src/digit_classifier/infra/training/lightning_fixes.py",
    "src/digit_classifier/infra/training/batched_loading.py",
    "src/digit_classifier/infra/machine/locks.py",
    "src/digit_classifier/infra/training/logging_interval.py",
    "src/digit_classifier/infra/records/predictions.py",
    "src/digit_classifier/infra/machine/preemption.py",
    "src/digit_classifier/infra/command_line/presets.py",
    "src/digit_classifier/infra/command_line/presets/bf16.yaml",
    "src/digit_classifier/infra/command_line/presets/compile.yaml",
    "src/digit_classifier/infra/command_line/presets/cpu.yaml",
    "src/digit_classifier/infra/command_line/presets/ddp.yaml",
    "src/digit_classifier/infra/command_line/presets/debug.yaml",
    "src/digit_classifier/infra/command_line/presets/fp16.yaml",
    "src/digit_classifier/infra/command_line/presets/gpu.yaml",
    "src/digit_classifier/infra/command_line/presets/mps.yaml",
    "src/digit_classifier/infra/command_line/presets/multinode.yaml",
    "src/digit_classifier/infra/command_line/presets/overfit.yaml",
    "src/digit_classifier/infra/command_line/presets/profile.yaml",
    "src/digit_classifier/infra/command_line/presets/shared.yaml",
    "src/digit_classifier/infra/training/progress.py",
    "src/digit_classifier/infra/records/provenance.py",
    "src/digit_classifier/infra/training/quiet.py",
    "src/digit_classifier/infra/training/random_states.py",
    "src/digit_classifier/infra/training/refusals.py",
    "src/digit_classifier/infra/records/report.py",
    "src/digit_classifier/infra/records/resume.py",
    "src/digit_classifier/infra/records/history.py",
    "src/digit_classifier/infra/records/loading.py",
    "src/digit_classifier/infra/records/record.py",
    "src/digit_classifier/infra/records/recorder.py",
    "src/digit_classifier/infra/records/folders.py",
    "src/digit_classifier/infra/records/table.py",
    "src/digit_classifier/infra/machine/shared_gpus.py",
    "src/digit_classifier/infra/tools/sweep.py",
    "src/digit_classifier/infra/machine/torch_index.py",
    "src/digit_classifier/infra/training/lightning_cli.py",
    "src/digit_classifier/infra/machine/environment_files.py",
    "src/digit_classifier/infra/machine/lock_compiling.py",
    "src/digit_classifier/infra/machine/sync_checks.py",
    "src/digit_classifier/infra/machine/sync_plan.py",
    "sweeps/wandb.yaml",
    "tests/conftest.py",
    "tests/crash.py",
    "tests/ddp_fit.py",
    "tests/ddp_shards.py",
    "tests/fake_pynvml.py",
    "tests/digits.yaml",
    "tests/gpu_taker.py",
    "tests/mismatched.py",
    "tests/payload.py",
    "tests/small_project.py",
    "tests/small_project.yaml",
    "tests/test_app.py",
    "tests/test_any_model.py",
    "tests/test_bench.py",
    "tests/test_cli.py",
    "tests/test_data.py",
    "tests/test_data_fingerprints.py",
    "tests/test_diabetes.py",
    "tests/test_digits.py",
    "tests/test_faults_options.py",
    "tests/test_logger_tensorboard.py",
    "tests/test_ddp.py",
    "tests/test_doctor.py",
    "tests/test_environment_files.py",
    "tests/test_faults_runs.py",
    "tests/test_faults_values.py",
    "tests/test_gpu.py",
    "tests/test_hook_overhead.py",
    "tests/test_launch.py",
    "tests/test_layout.py",
    "tests/test_lightning_fixes.py",
    "tests/test_lock_compiling.py",
    "tests/test_locks.py",
    "tests/test_log_overhead.py",
    "tests/test_model.py",
    "tests/test_noxfile.py",
    "tests/test_notebook.py",
    "tests/test_output.py",
    "tests/test_mps.py",
    "tests/test_preemption.py",
    "tests/test_progress.py",
    "tests/test_provenance.py",
    "tests/test_report.py",
    "tests/test_resume.py",
    "tests/test_runs_table.py",
    "tests/test_safe_loading.py",
    "tests/test_shared_gpus.py",
    "tests/test_serving.py",
    "tests/test_sync.py",
    "tests/test_sweep.py",
    "tests/test_your_project.py",
    "tests/version_taker.py",
}
# What each logger answer adds to the project.
LOGGER_FILES = {
    "tensorboard": {
        "requirements/tensorboard.in",
        "requirements/tensorboard.txt",
        "tests/test_logger_tensorboard.py",
    },
    "csv": {"tests/test_logger_csv.py"},
    "wandb": {
        "requirements/wandb.in",
        "requirements/wandb.txt",
        "src/digit_classifier/infra/training/wandb_logger.py",
        "tests/test_logger_wandb.py",
    },
    "mlflow": {
        "requirements/mlflow.in",
        "requirements/mlflow.txt",
        "src/digit_classifier/infra/training/mlflow_logger.py",
        "tests/test_logger_mlflow.py",
    },
}
# What `slurm=yes` adds: the job scripts and their guide, and the requeue-on-preemption callback.
SLURM_FILES = {
    "docs/slurm.md",
    "scripts/slurm/sweep.sbatch",
    "scripts/slurm/train.sbatch",
    "src/digit_classifier/infra/machine/preemption.py",
    "tests/test_preemption.py",
}
# What `examples=no` (or the project's `nox -s drop_examples`) leaves out: the examples' code,
# preset and tests. Their config.yaml, sweep file and notebook cells are rewritten, not removed.
EXAMPLE_FILES = {
    "src/digit_classifier/app.py",
    "src/digit_classifier/data.py",
    "src/digit_classifier/diabetes.py",
    "src/digit_classifier/figures.py",
    "src/digit_classifier/model.py",
    "src/digit_classifier/module.py",
    "src/digit_classifier/presets/diabetes.yaml",
    "src/digit_classifier/regressor.py",
    "tests/digits.yaml",
    "tests/test_app.py",
    "tests/test_data.py",
    "tests/test_diabetes.py",
    "tests/test_digits.py",
    "tests/test_model.py",
}
# Jinja left behind; GitHub Actions' own `${{ expr }}` is not template syntax.
TEMPLATE_SYNTAX = re.compile(r"(?<!\$)\{\{|\{%|cookiecutter\.")


def expected_files(combination: dict[str, str]) -> set[str]:
    files = set(DEFAULT_FILES)
    if combination["license"] == "none":
        files.remove("LICENSE")
    files -= LOGGER_FILES["tensorboard"]
    files |= LOGGER_FILES[combination["logger"]]
    if combination["slurm"] == "no":
        files -= SLURM_FILES
    if combination["examples"] == "no":
        files -= EXAMPLE_FILES
    return files


def project_files(project: Path) -> set[str]:
    return {
        path.relative_to(project).as_posix()
        for path in project.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(project).parts
    }


@pytest.mark.parametrize("combination", COMBINATIONS, ids=label)
def test_combination_bakes_into_exactly_the_expected_files_which_parse(
    bake: Bake, combination: dict[str, str]
) -> None:
    # One bake for both checks: the matrix holds every combination of every option.
    project = bake(**combination)
    assert project_files(project) == expected_files(combination)
    for name in sorted(project_files(project)):
        path = project / name
        text = path.read_text()
        # Locks hold only pins and hashes; .cruft.json records the context, cookiecutter's keys too.
        if not name.endswith(".txt") and name != ".cruft.json":
            assert not TEMPLATE_SYNTAX.search(text), f"template syntax left in {name}"
        if path.suffix == ".py":
            ast.parse(text, filename=name)
        elif path.suffix in (".yaml", ".yml"):
            assert yaml.safe_load(text) is not None, f"{name} is empty"
        elif path.suffix == ".toml":
            tomllib.loads(text)
        elif path.suffix == ".json":
            jsonc.loads(text)  # VS Code's files allow comments and trailing commas
        elif path.suffix in (".sh", ".sbatch"):
            subprocess.run(["bash", "-n", str(path)], check=True)


def test_answers_flow_into_metadata_license_and_versions(bake: Bake) -> None:
    project = bake(
        project_name="Speech Lab",
        description='Says "hello" in 3 languages',
        author_name="Ada Lovelace",
        author_email="ada@example.org",
        python_version="3.12",
        license="Apache-2.0",
    )
    assert project.name == "speech-lab"
    metadata = tomllib.loads((project / "pyproject.toml").read_text())
    assert metadata["project"]["name"] == "speech-lab"
    assert metadata["project"]["description"] == 'Says "hello" in 3 languages'
    assert metadata["project"]["authors"] == [{"name": "Ada Lovelace", "email": "ada@example.org"}]
    assert metadata["project"]["requires-python"] == ">=3.12"
    assert metadata["project"]["scripts"] == {"speech-lab": "speech_lab.infra.cli:main"}
    assert metadata["tool"]["mypy"]["python_version"] == "3.12"
    assert (project / "src" / "speech_lab" / "infra" / "cli.py").exists()
    license_text = (project / "LICENSE").read_text()
    assert license_text.startswith("Apache License") and "Ada Lovelace" in license_text
    assert "python=3.12" in (project / "environment.yml").read_text()


def git_output(project: Path, *args: str) -> str:
    command = ["git", *args]
    return subprocess.run(command, cwd=project, capture_output=True, text=True, check=True).stdout


def test_bake_makes_a_git_repository_with_one_commit(bake: Bake) -> None:
    project = bake()
    assert git_output(project, "log", "--format=%s").splitlines() == [
        "Initial commit from fsdl-template"
    ]
    assert git_output(project, "status", "--porcelain") == ""
    # Every file baked is in that commit: no .gitignore pattern (runs/, build/) swallows one.
    assert set(git_output(project, "ls-files").splitlines()) == project_files(project)


def test_bake_records_the_template_checkout_given_by_a_relative_path(tmp_path: Path) -> None:
    # cookiecutter passes the template's path as typed; the record must hold it absolute.
    output = tmp_path / "out"
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(output), TEMPLATE.name]
    subprocess.run(command, cwd=TEMPLATE.parent, capture_output=True, check=True)
    (project,) = output.iterdir()
    record = json.loads((project / ".cruft.json").read_text())
    assert record["template"] == str(TEMPLATE)
    assert record["commit"] == git_output(TEMPLATE, "rev-parse", "HEAD").strip()
    assert record["context"]["cookiecutter"]["package_name"] == "digit_classifier"
    assert git_output(project, "ls-files", ".cruft.json") == ".cruft.json\n"


def test_bake_without_git_still_succeeds(
    bake: Bake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bin_without_git = tmp_path / "bin"
    bin_without_git.mkdir()
    monkeypatch.setenv("PATH", str(bin_without_git))
    project = bake()
    assert not (project / ".git").exists()
    assert not (project / ".cruft.json").exists()  # the record needs git too: `cruft link` later
    assert (project / "pyproject.toml").exists()


def test_slurm_script_runs_one_task_per_gpu_and_requeues_before_its_time_limit(bake: Bake) -> None:
    script = (bake() / "scripts" / "slurm" / "train.sbatch").read_text()
    directives = dict(
        line.removeprefix("#SBATCH --").partition("=")[::2]
        for line in script.splitlines()
        if line.startswith("#SBATCH --")
    )
    assert directives["ntasks-per-node"] == directives["gpus-per-node"]
    assert directives["signal"].startswith("USR1@")
    assert "requeue" in directives and directives["open-mode"] == "append"
    assert "%j" in directives["output"]
    assert "fit --preset ddp --preset multinode" in script


def test_torchrun_launcher_is_executable(bake: Bake) -> None:
    assert os.access(bake() / "scripts" / "torchrun.sh", os.X_OK)


def test_without_slurm_no_code_wires_slurm_requeueing(bake: Bake) -> None:
    def sources(project: Path) -> str:
        return "".join(path.read_text() for path in (project / "src").rglob("*.py"))

    with_slurm = sources(bake(slurm="yes", project_name="With Slurm"))
    assert "RequeueOnSignal" in with_slurm and "SLURMEnvironment" in with_slurm
    without = sources(bake(slurm="no"))
    assert "RequeueOnSignal" not in without and "SLURMEnvironment" not in without
