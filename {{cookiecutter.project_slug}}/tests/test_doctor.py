"""`doctor` reports the machine, the packages against the locks, and which presets can run here."""

from __future__ import annotations

import os
from importlib.metadata import version
from pathlib import Path

import pytest
import torch
from conftest import Refused, write_locks

from {{ cookiecutter.package_name }}.infra.cli import main
from {{ cookiecutter.package_name }}.infra.machine.doctor import find_requirements

PROJECT = Path(__file__).resolve().parents[1]
on_cpu_only = pytest.mark.skipif(
    torch.cuda.is_available(), reason="checks what a machine without a GPU says"
)


def doctor(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run `doctor` as the command line does; return its exit code, output and errors."""
    try:
        main(["doctor", *args])
        code = 0
    except SystemExit as exit_info:
        code = int(exit_info.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@on_cpu_only
def test_reports_no_gpu_and_the_presets_a_cpu_can_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    locks = write_locks(tmp_path / "requirements", {"pytest": pytest.__version__})
    code, out, err = doctor(["--requirements", str(locks)], capsys)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert f"torch          {torch.__version__}" in lines
    assert any(line.startswith("GPUs           none visible") for line in lines)
    assert "all 2 packages pinned in prod-cpu.txt, dev.txt are installed at their pins" in out
    presets = {line.split()[0]: line.split()[1] for line in lines if line.startswith("  ")}
    assert presets["cpu"] == "yes" and presets["bf16"] == "yes" and presets["debug"] == "yes"
    assert presets["gpu"] == "no:" and presets["ddp"] == "no:" and presets["fp16"] == "no:"


@on_cpu_only
def test_a_named_gpu_preset_exits_non_zero_saying_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    locks = write_locks(tmp_path / "requirements", {})
    code, _, err = doctor(["--preset", "gpu", "--requirements", str(locks)], capsys)
    assert code == 1
    assert err.startswith(
        "error: --preset gpu cannot run here: trainer.accelerator=gpu but no CUDA"
    )
    assert "use --preset cpu" in err


def test_multinode_without_a_launcher_cannot_run_here_as_fit_refuses_it(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    refused: Refused,
) -> None:
    outside_launchers = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLURM_", "TORCHELASTIC_"))
    }
    for name in os.environ.keys() - outside_launchers.keys():
        monkeypatch.delenv(name)
    locks = write_locks(tmp_path / "requirements", {})
    code, out, err = doctor(["--preset", "multinode", "--requirements", str(locks)], capsys)
    refusal = (
        "trainer.num_nodes=-1 (the multinode preset) takes the node count from SLURM or torchrun"
    )
    assert code == 1
    assert err.startswith(f"error: --preset multinode cannot run here: {refusal}")
    assert any(line.split()[:2] == ["multinode", "no:"] for line in out.splitlines())
    assert refusal in refused(["fit", "--preset", "multinode"])
    assert list(tmp_path.iterdir()) == [locks]  # fit wrote nothing
    assert list(tmp_path.iterdir()) == [tmp_path / "requirements"]  # fit wrote nothing


def test_named_presets_that_run_here_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    locks = write_locks(tmp_path / "requirements", {})
    code, out, err = doctor(
        ["--preset", "cpu", "--preset", "bf16", "--requirements", str(locks)], capsys
    )
    assert (code, err) == (0, "")
    assert "--preset cpu --preset bf16: can run here" in out


def test_a_package_at_another_version_than_its_pin_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    locks = write_locks(tmp_path / "requirements", {"pyyaml": "1.0", "pytest": pytest.__version__})
    code, out, err = doctor(["--requirements", str(locks)], capsys)
    assert code == 1
    assert "1 of 3 differ from " in out
    assert f" pyyaml  installed {version('pyyaml')}, locked 1.0 (dev.txt)\n" in out
    assert err == "error: the environment differs from the locks (see Packages above)\n"


def test_an_unknown_preset_is_refused_with_the_valid_names(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = doctor(["--preset", "gpus"], capsys)
    assert (code, out) == (2, "")
    assert err.startswith("error: unknown preset 'gpus'; valid presets: bf16, ")


def test_finds_the_locks_of_the_project_it_is_imported_from(in_tmp_dir: Path) -> None:
    folder, how = find_requirements(None)
    assert folder == PROJECT / "requirements"
    assert how == "the project this package is imported from"
