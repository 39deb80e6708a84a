"""The noxfile runs in nox's own virtualenv, which holds nox, packaging and PyYAML and not the
project's dependencies (`nox -s sync` runs before they are installed): what it imports from the
package, from src/, must need nothing more."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
PACKAGE = "{{ cookiecutter.package_name }}"
# What nox's virtualenv holds beside the standard library (PyYAML's C part is `_yaml`).
IN_NOXS_ENVIRONMENT = {"nox", "packaging", "yaml", "_yaml", PACKAGE}


def test_the_noxfile_imports_from_the_package_only_what_noxs_environment_holds() -> None:
    tree = ast.parse((PROJECT / "noxfile.py").read_text())
    imports = [
        ast.unparse(node)
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE)
    ]
    assert len(imports) > 3, imports
    script = "\n".join(
        [
            "import sys",
            "before = set(sys.modules)",
            *imports,
            "print(*sorted({name.split('.')[0] for name in set(sys.modules) - before}))",
        ]
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT,
        env={**os.environ, "PYTHONPATH": str(PROJECT / "src")},
        capture_output=True,
        text=True,
        check=True,
    )
    imported = set(result.stdout.split()) - set(sys.stdlib_module_names)
    assert imported <= IN_NOXS_ENVIRONMENT, sorted(imported - IN_NOXS_ENVIRONMENT)
