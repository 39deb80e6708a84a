"""What `nox -s sync` changes in an environment: the packages it removes, installs and moves to
another version, said before it does (and instead of it, for `--dry-run`).

Standard library and packaging only: the noxfile imports this before the project is installed.
"""

from __future__ import annotations

import json
from pathlib import Path

from packaging.utils import canonicalize_name

from {{ cookiecutter.package_name }}.infra.machine import locks
from {{ cookiecutter.package_name }}.infra.machine.sync_checks import interpreter_says

# The distributions installed in an interpreter's environment, by name, with their versions.
INSTALLED_PROBE = (
    "import json, importlib.metadata as m; "
    "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
)
# Installed beside the locks and never removed: the project itself, and the installers' own.
ALWAYS_KEPT = ("pip", "setuptools", "wheel", "pip-tools")
# Up to this many packages of a kind are named; more are only counted (a dry run names them all).
NAMED_AT_MOST = 20


def what_changes(
    python: str, lock_files: list[Path], project: str, every_name: bool = False
) -> list[str]:
    """A line each on how many packages syncing `lock_files` into `python` removes, installs and
    changes, naming them when few (or always, with `every_name`); `project` is kept."""
    installed: dict[str, str] = {
        canonicalize_name(name): version
        for name, version in json.loads(interpreter_says(python, INSTALLED_PROBE)).items()
    }
    pinned = {
        name: pin.version for lock in lock_files for name, pin in locks.read_lock(lock).items()
    }
    kept = {canonicalize_name(project), *ALWAYS_KEPT}
    changes: dict[str, list[str]] = {
        "remove": sorted(set(installed) - set(pinned) - kept),
        "install": sorted(set(pinned) - set(installed)),
        "change": sorted(
            name for name in set(pinned) & set(installed) if installed[name] != pinned[name]
        ),
    }
    lines = []
    for verb, names in changes.items():
        named = every_name or len(names) <= NAMED_AT_MOST
        listed = f": {', '.join(names)}" if names and named else ""
        lines.append(f"sync will {verb} {len(names)} packages in {python}{listed}")
    return lines
