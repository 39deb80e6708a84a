"""Whose code is whose: the template's infra/ imports none of your modules, and no modules import
each other in a circle. Read from the source with `ast`, so imports inside functions count too."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "{{ cookiecutter.package_name }}"
SOURCE = Path(__file__).resolve().parents[1] / "src"
INFRA = f"{PACKAGE}.infra"


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted((SOURCE / PACKAGE).rglob("*.py"))}


def imported(path: Path, modules: set[str]) -> set[str]:
    """The project's modules that the file at `path` imports, anywhere in it."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: `from . import x`, `from ..infra import y`
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from package import name` imports the module package.name when there is one.
            targets += [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
    found = set()
    for target in targets:
        while target and target not in modules:  # `a.b.C` (a class) is module a.b
            target = target.rpartition(".")[0]
        if target:
            found.add(target)
    return found - {name}


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imported(path, set(modules)) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A list of modules that import each other in a circle (first = last), or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return path[path.index(node) :] + [node]
        if node in done:
            return None
        for neighbour in sorted(graph.get(node, ())):
            cycle = visit(neighbour, [*path, node])
            if cycle:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle:
            return cycle
    return None


def test_the_graph_sees_real_imports_and_the_cycle_check_finds_cycles() -> None:
    graph = import_graph()
    assert f"{INFRA}.training" in graph[f"{INFRA}.cli"]
    assert f"{INFRA}.sweep" in graph[f"{INFRA}.cli"]  # imported inside a function
    assert f"{INFRA}.errors" in graph[f"{INFRA}.presets"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_modules_import_each_other_in_a_circle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_infrastructure_imports_none_of_your_modules() -> None:
    offenders = {
        name: sorted(target for target in targets if not target.startswith(INFRA))
        for name, targets in import_graph().items()
        if name.startswith(INFRA)
    }
    assert {name: found for name, found in offenders.items() if found} == {}
