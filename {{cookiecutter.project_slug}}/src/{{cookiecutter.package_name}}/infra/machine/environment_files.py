"""The conda environment files, one a lock target, and the check `nox -s env` makes of one first:
it parses, and it asks for the Python of the locks and (environment.yml) the CUDA of torch's wheels.

Standard library, packaging and PyYAML (imported when a file is checked) only: the noxfile imports
this before the project is installed.
"""

from __future__ import annotations

from pathlib import Path

from {{ cookiecutter.package_name }}.infra.machine import locks

# The conda environment file of each lock target.
ENVIRONMENT_FILES = {
    "gpu": Path("environment.yml"),
    "cpu": Path("environment-cpu.yml"),
    "macos": Path("environment-cpu.yml"),
}


def environment_problems(environment_file: Path, python: str, requirements: Path) -> list[str]:
    """What is wrong with a conda environment file, each with its fix; empty if nothing is.

    `python` is the Python version of the locks in `requirements`.
    """
    git_restore = f"restore it with `git checkout -- {environment_file}`"
    try:
        import yaml
    except ImportError:
        return ["PyYAML is missing: pip install --require-hashes --no-deps -r requirements/dev.txt"]
    try:
        content = yaml.safe_load(environment_file.read_text())
    except FileNotFoundError:
        return [f"{environment_file} is missing: {git_restore}"]
    except yaml.MarkedYAMLError as error:
        place = f"line {error.problem_mark.line + 1}: " if error.problem_mark else ""
        reason = f"{place}{error.problem or error.context}"
        return [f"{environment_file} is not valid YAML ({reason}): fix it, or {git_restore}"]
    except yaml.YAMLError as error:
        return [f"{environment_file} is not valid YAML ({error}): fix it, or {git_restore}"]
    dependencies = content.get("dependencies") if isinstance(content, dict) else None
    if not isinstance(dependencies, list):
        return [f"{environment_file} has no `dependencies:` list: fix it, or {git_restore}"]
    specs = {}  # package name -> (version asked for, the spec as written)
    for spec in dependencies:
        if isinstance(spec, str):
            name, _, version = spec.replace(" ", "=", 1).partition("=")
            specs[name] = (version.removesuffix(".*"), spec)
    # Each version the file must ask for, and where it comes from.
    wanted = {"python": (python, "noxfile.py's PYTHON")}
    if environment_file.name == ENVIRONMENT_FILES["gpu"].name:
        runtime = locks.read_lock(requirements / "prod.txt").get("nvidia-cuda-runtime")
        if runtime is not None:  # the CUDA runtime that torch's wheels carry
            cuda = ".".join(runtime.version.split(".")[:2])
            origin = f"{requirements / 'prod.txt'}'s nvidia-cuda-runtime=={runtime.version}"
            wanted["cuda-version"] = (cuda, origin)
    problems = []
    for name, (version, origin) in wanted.items():
        asked, written = specs.get(name, ("", ""))
        if asked != version and not asked.startswith(f"{version}."):
            found = f"asks for `{written}`" if written else f"does not name {name}"
            problems.append(
                f"{environment_file} {found}, but {origin} needs {name} {version}: "
                f"write `{name}={version}`"
            )
    return problems
