"""The fixes to Lightning step aside where Lightning changed under them
(infra/training/lightning_fixes.py): generated over every fix and every private part of Lightning
it patches."""

from __future__ import annotations

import dataclasses
import importlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.infra.training import lightning_fixes

PACKAGE = "{{ cookiecutter.package_name }}"
CASES = [(fix, target) for fix in lightning_fixes.FIXES for target in fix.targets]


def warning(fix: lightning_fixes.Fix, target: tuple[str, str]) -> str:
    return (
        f"warning: this Lightning has no {target[0]}.{target[1]}: the project's fix of "
        f"{fix.fixes} ({fix.module.replace('.', '/')}.py) steps aside, and training runs "
        "unpatched; update that module for this Lightning, or install the locked one (nox -s sync)"
    )


@pytest.mark.parametrize(
    "fix, target",
    CASES,
    ids=[f"{fix.install.__name__}-{'.'.join(target)}" for fix, target in CASES],
)
def test_a_fix_whose_target_is_gone_steps_aside_with_one_warning(
    fix: lightning_fixes.Fix,
    target: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delattr(importlib.import_module(target[0]), target[1])
    installed: list[str] = []

    def spy(name: str) -> Callable[[], None]:
        return lambda: installed.append(name)

    spied = [dataclasses.replace(each, install=spy(each.fixes)) for each in lightning_fixes.FIXES]
    monkeypatch.setattr(lightning_fixes, "FIXES", tuple(spied))
    monkeypatch.setattr(lightning_fixes, "_warned", set())

    lightning_fixes.install()
    lightning_fixes.install()  # a second command in the process: no second warning

    assert capsys.readouterr().err.splitlines() == [warning(fix, target)]
    others = [each.fixes for each in lightning_fixes.FIXES if each.fixes != fix.fixes]
    assert installed == others * 2


def test_every_target_exists_in_the_locked_lightning() -> None:
    assert [lightning_fixes.missing(fix) for fix in lightning_fixes.FIXES] == [None] * len(
        lightning_fixes.FIXES
    )


def test_without_their_targets_the_package_imports_and_a_fit_runs_unpatched(
    in_tmp_dir: Path,
) -> None:
    """Every target hidden while the package imports (no fix reaches for one at import), then a
    fit with every fix stepped aside: Lightning's own code, unpatched, trains."""
    hidden = [f"delattr(importlib.import_module({m!r}), {a!r})" for fix, (m, a) in CASES]
    restored = "for module, value in saved: setattr(*module, value)"
    script = "\n".join(
        [
            "import importlib",
            f"targets = {[target for _, target in CASES]!r}",
            "saved = [((importlib.import_module(m), a), getattr(importlib.import_module(m), a))"
            " for m, a in targets]",
            *hidden,
            f"from {PACKAGE}.infra import cli",
            f"from {PACKAGE}.infra.training import lightning_cli, lightning_fixes",
            f"from {PACKAGE}.infra.tools import bench",
            restored,
            "lightning_fixes.missing = lambda fix: 'lightning.pytorch.' + fix.targets[0][1]",
            "cli.main(['fit', '--preset', 'debug', '--trainer.enable_progress_bar=false'])",
        ]
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    stepped_aside = [line for line in result.stderr.splitlines() if "steps aside" in line]
    assert len(stepped_aside) == len(lightning_fixes.FIXES), result.stderr[-3000:]
