"""Whose code is whose: the template's infra/ imports none of your modules, no modules import each
other in a circle (read from the source with `ast`, so imports inside functions count too), each
package of infra/ imports only the packages its __init__.py allows, and your code, the notebooks
and the docs import from infra/ only the names its __init__.py offers."""

from __future__ import annotations

import ast
import importlib
import json
import re
import subprocess
import sys
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
    assert f"{INFRA}.training.quiet" in graph[f"{INFRA}.cli"]
    assert f"{INFRA}.tools.sweep" in graph[f"{INFRA}.cli"]  # imported inside a function
    assert f"{INFRA}.command_line.errors" in graph[f"{INFRA}.command_line.presets"]
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


# The last paragraph of each package's docstring: the packages of infra/ it may import.
MAY_IMPORT = re.compile(r"^May import: (?P<packages>[^\n]+)\.$", re.M)
NOTHING = "nothing else in infra"
# infra/'s own modules, above every package: the public surface and the command line's entry.
TOP_LEVEL = {"__init__.py", "cli.py"}


def infra_packages() -> dict[str, set[str]]:
    """Each package of infra/, and the packages its docstring says it may import."""
    rules = {}
    for folder in sorted(path for path in (SOURCE / PACKAGE / "infra").iterdir() if path.is_dir()):
        if folder.name == "__pycache__" or not any(folder.glob("*.py")):
            continue  # data (presets/ lives inside command_line/)
        init = folder / "__init__.py"
        docstring = ast.get_docstring(ast.parse(init.read_text())) if init.is_file() else None
        match = MAY_IMPORT.search(docstring or "")
        assert match, f"{init}: a docstring saying what the package owns, ending 'May import: ...'"
        said = match["packages"]
        rules[folder.name] = set() if said == NOTHING else set(said.split(", "))
    return rules


def package_of(module: str) -> str | None:
    """The package of infra/ a module belongs to (`records` for <infra>.records.table), or None
    for infra's own modules (its __init__, cli)."""
    parts = module.removeprefix(f"{INFRA}.").split(".")
    if not module.startswith(f"{INFRA}.") or not (SOURCE / PACKAGE / "infra" / parts[0]).is_dir():
        return None
    return parts[0]


def forbidden_imports(graph: dict[str, set[str]], rules: dict[str, set[str]]) -> list[str]:
    """`importer -> imported` for each import of a package's module that its rules do not allow:
    another package not named, or infra's own modules, which sit above every package."""
    found = []
    for importer, targets in sorted(graph.items()):
        package = package_of(importer)
        if package is None:
            continue
        for target in sorted(targets):
            if not target.startswith(INFRA):
                continue
            imported_package = package_of(target)
            if imported_package != package and imported_package not in rules[package]:
                found.append(f"{importer} -> {target}")
    return found


def test_infra_is_a_few_packages_each_saying_what_it_owns_and_may_import() -> None:
    rules = infra_packages()
    assert len(rules) >= 3
    for package, allowed in rules.items():
        assert allowed <= set(rules) - {package}, f"{package} may import unknown packages"
    assert find_cycle({name: set(allowed) for name, allowed in rules.items()}) is None
    top_level = {path.name for path in (SOURCE / PACKAGE / "infra").glob("*.py")}
    assert top_level == TOP_LEVEL, "a module of infra/ belongs in one of its packages"


def test_each_package_imports_only_the_packages_its_docstring_allows() -> None:
    assert forbidden_imports(import_graph(), infra_packages()) == []


def test_the_package_rule_finds_an_import_it_does_not_allow() -> None:
    rules = {"command_line": set(), "records": {"command_line"}, "training": {"records"}}
    graph = {
        f"{INFRA}.records.table": {f"{INFRA}.command_line.errors", f"{INFRA}.training.quiet"},
        f"{INFRA}.training.quiet": {f"{INFRA}.records.table", f"{INFRA}.training.progress"},
        f"{INFRA}.command_line.presets": {f"{INFRA}.cli", "yaml"},
        f"{INFRA}.cli": {f"{INFRA}.training.quiet"},
    }
    assert forbidden_imports(graph, rules) == [
        f"{INFRA}.command_line.presets -> {INFRA}.cli",
        f"{INFRA}.records.table -> {INFRA}.training.quiet",
    ]


# `from <package>.infra[.module] import names` (names in parentheses may span lines), and
# `import <package>.infra.module`: how code and docs reach into infra/.
INFRA_IMPORT = re.compile(
    rf"from\s+{re.escape(INFRA)}(?P<module>(?:\.\w+)*)\s+import\s+(?P<names>\([^)]*\)|[^\n]*)"
    rf"|import\s+{re.escape(INFRA)}(?P<submodule>\.\w+)"
)


def texts_outside_infra() -> dict[str, str]:
    """Every text of the project that user code or its docs are in, by path: the package's modules
    outside infra/, the notebooks' code cells, and the Markdown files."""
    root = SOURCE.parent
    found = {
        str(path.relative_to(root)): path.read_text()
        for path in sorted((SOURCE / PACKAGE).rglob("*.py"))
        if "infra" not in path.relative_to(SOURCE / PACKAGE).parts
    }
    for path in sorted(root.glob("notebooks/*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        code = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]
        found[str(path.relative_to(root))] = "\n".join(code)
    for path in sorted([*root.glob("*.md"), *root.glob("docs/*.md"), *root.glob("notebooks/*.md")]):
        found[str(path.relative_to(root))] = path.read_text()
    return found


def reaching_past_the_surface(text: str) -> list[str]:
    """The imports in `text` of anything from infra but its public surface (infra.__all__)."""
    import {{ cookiecutter.package_name }}.infra as infra

    found = []
    for match in INFRA_IMPORT.finditer(text):
        names = re.findall(r"\w+", (match["names"] or "").split("#")[0])
        names = [name for name in names if name != "as"]
        if match["module"] or match["submodule"] or not set(names) <= set(infra.__all__):
            found.append(" ".join(match[0].split()))
    return found


def test_your_code_and_docs_import_only_the_public_surface_of_infra() -> None:
    """infra/'s modules may move between releases of the template; its __init__'s names stay."""
    texts = texts_outside_infra()
    assert f"src/{PACKAGE}/__main__.py" in texts and "README.md" in texts
    offenders = {
        path: found for path, text in texts.items() if (found := reaching_past_the_surface(text))
    }
    # The command line's entry point is the one way in that is no import of user code.
    offenders.pop(f"src/{PACKAGE}/__main__.py", None)
    assert offenders == {}, (
        f"import these from {INFRA} itself (its __init__.py lists what it offers), not from its "
        "modules, which a template update may move"
    )


def test_the_check_finds_an_import_past_the_surface() -> None:
    assert reaching_past_the_surface(f"from {INFRA}.loading import batched_loader") != []
    assert reaching_past_the_surface(f"from {INFRA} import (\n    runs,\n)") != []
    assert reaching_past_the_surface(f"import {INFRA}.records.table") != []
    assert reaching_past_the_surface(f"from {INFRA} import (\n    load_model,  # why\n)") == []


def test_the_public_surface_resolves_is_documented_and_imports_nothing_heavy() -> None:
    import {{ cookiecutter.package_name }}.infra as infra

    assert infra.__all__ == list(infra.PUBLIC)
    for name, (module, attribute) in infra.PUBLIC.items():
        behind = getattr(importlib.import_module(f"{INFRA}.{module}"), attribute)
        assert getattr(infra, name) is behind, name
        assert f"`{name}" in (infra.__doc__ or ""), f"{name} is not documented in infra/__init__.py"
    script = f"import sys, {INFRA}; print([m for m in ('torch', 'lightning') if m in sys.modules])"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
