"""No checkpoint runs code by being opened. A planted checkpoint whose unpickling would run a payload
is refused, in one line naming it and unopened, by every way the project opens one: `--ckpt_path`
of each command, `fit --resume auto`, `report`, and the loader of the notebook and the applet."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from conftest import FittedRun, Refused, killed_fit, tree
from payload import plant, refusal_of

from {{ cookiecutter.package_name }}.infra.cli import LIGHTNING_COMMANDS
from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal
from {{ cookiecutter.package_name }}.infra.records import loading as run_loading

RUN = Path("runs") / "{{ cookiecutter.package_name }}" / "version_0"
QUIET = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]


def assert_refused_unopened(error: str, planted: Path, marker: Path) -> None:
    assert error.count("\n") == 1, error
    assert error.startswith(f"error: {refusal_of(planted)}"), error
    assert not marker.exists(), "the payload ran"


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    return tmp_path / "payload-ran"


@pytest.fixture
def run_copy(fitted_run: FittedRun, in_tmp_dir: Path) -> Path:
    shutil.copytree(fitted_run.directory, in_tmp_dir / RUN)
    return in_tmp_dir / RUN


def test_the_planted_checkpoint_would_run_its_payload(
    run_copy: Path, marker: Path, tmp_path: Path
) -> None:
    # What the refusals below prevent: the same file, opened as the project once opened it.
    planted = tmp_path / "planted.ckpt"
    plant(planted, marker, run_copy / "checkpoints" / "last.ckpt")
    torch.load(planted, weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize("command", LIGHTNING_COMMANDS)
def test_ckpt_path_of_every_command_refuses_it_unopened(
    command: str, run_copy: Path, marker: Path, tmp_path: Path, refused: Refused
) -> None:
    planted = tmp_path / "planted.ckpt"
    plant(planted, marker, run_copy / "checkpoints" / "last.ckpt")
    before = tree(run_copy.parent)
    error = refused([command, f"--ckpt_path={planted}", *QUIET])
    assert_refused_unopened(error, planted, marker)
    assert tree(run_copy.parent) == before


def test_resume_refuses_a_planted_last_checkpoint_unopened(
    in_tmp_dir: Path, marker: Path, refused: Refused
) -> None:
    killed_fit(in_tmp_dir, 1, ["--trainer.max_epochs=2", *QUIET])  # a run to resume
    last = in_tmp_dir / RUN / "checkpoints" / "last.ckpt"
    plant(last, marker, last)
    before = tree(in_tmp_dir / "runs")
    error = refused(["fit", "--resume", "auto", *QUIET])
    assert_refused_unopened(error, RUN / "checkpoints" / "last.ckpt", marker)
    assert tree(in_tmp_dir / "runs") == before


def test_report_refuses_a_planted_best_checkpoint_unopened(
    run_copy: Path, marker: Path, refused: Refused
) -> None:
    (best,) = (run_copy / "checkpoints").glob("epoch*.ckpt")
    plant(best, marker, best)
    before = tree(run_copy)
    error = refused(["report", str(RUN)])
    assert_refused_unopened(error, best.relative_to(run_copy.parents[2]), marker)
    assert tree(run_copy) == before and not Path("reports").exists()


def test_the_notebooks_and_applets_loader_refuses_it_unopened(run_copy: Path, marker: Path) -> None:
    (best,) = (run_copy / "checkpoints").glob("epoch*.ckpt")
    plant(best, marker, best)
    checkpoint = run_loading.best_checkpoint(RUN)
    assert checkpoint is not None
    with pytest.raises(Refusal) as refusal:
        run_loading.load_model(checkpoint)
    assert str(refusal.value).startswith(refusal_of(checkpoint))
    assert not marker.exists()
