"""The import names of every package that baked projects lock, as the pre-gen hook refuses them.

A package named like one of them would shadow that package inside the project (`import optuna`
would import the project). The hook runs in cookiecutter's Python, where the locked packages are
not installed, so their import names are written into the hook, between the markers below, by
`nox -s import_names` (which `nox -s locks` runs after recompiling): in an environment holding the
Linux CPU locks, each locked distribution's top-level modules, as importlib.metadata lists them. A
locked distribution not installed there (CUDA or macOS wheels) stands in by its own name, with `_`
for `-`, and so do the CUDA wheels, whatever is installed. tests/test_answers.py checks that the
hook is in step with the locks.

python tests/locked_modules.py    rewrite the hook's table
"""

from __future__ import annotations

import re
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOOK = ROOT / "hooks" / "pre_gen_project.py"
LOCKS = ROOT / "{{cookiecutter.project_slug}}" / "locks"
BEGIN = "# BEGIN LOCKED MODULES (written by `nox -s import_names`; do not edit)\n"
END = "# END LOCKED MODULES\n"
# As the baked project's infra/machine/torch_index.py has them.
CUDA_ONLY_PREFIXES = ("nvidia-", "cuda-", "triton")
EVERY_TARGET = ("nvidia-ml-py",)  # NVML's pure-Python bindings: no CUDA wheel
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==", re.MULTILINE)


def canonical(name: str) -> str:
    """A distribution's name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_distributions() -> set[str]:
    """Every distribution pinned in a lock the template ships, for any Python and logger."""
    locks = LOCKS.glob("py*/*.txt")
    return {canonical(name) for lock in locks for name in PIN.findall(lock.read_text())}


def import_names() -> list[str]:
    """The top-level module names of the locked distributions, sorted."""
    modules_of: dict[str, set[str]] = {}
    for module, distributions in packages_distributions().items():
        for distribution in distributions:
            modules_of.setdefault(canonical(distribution), set()).add(module)
    names: set[str] = set()
    for distribution in locked_distributions():
        stand_in = {distribution.replace("-", "_")}
        # Which CUDA wheels an environment holds depends on its Python (a CPU lock that falls back
        # to PyPI's torch has them): they stand in by their names whatever is installed, so the
        # table is the same from any Python's environment.
        if distribution.startswith(CUDA_ONLY_PREFIXES) and distribution not in EVERY_TARGET:
            names |= stand_in
        else:
            names |= modules_of.get(distribution, stand_in)
    # Only an identifier can be chosen as a package name; private modules (_yaml) cannot.
    return sorted(name for name in names if name.isidentifier() and not name.startswith("_"))


def block(names: list[str]) -> str:
    """The hook's table: one name a line, so a change of locks is a readable diff."""
    rows = "".join(f'        "{name}",\n' for name in names)
    return f"{BEGIN}LOCKED_MODULES = frozenset(\n    {{\n{rows}    }}\n)\n{END}"


def hook_block(text: str) -> str:
    """The table as the hook holds it now."""
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[start:end]


def write() -> None:
    text = HOOK.read_text()
    HOOK.write_text(text.replace(hook_block(text), block(import_names())))


if __name__ == "__main__":
    write()
