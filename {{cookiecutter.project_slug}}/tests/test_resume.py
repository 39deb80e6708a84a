"""`fit --resume auto`: a killed run continues from its last checkpoint and ends as if never killed."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Refused, killed_fit, tree
import torch

from {{ cookiecutter.package_name }}.infra.training.lightning_cli import build

EPOCHS = ["--trainer.max_epochs=3"]
QUIET = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]
PACKAGE = "{{ cookiecutter.package_name }}"
RUN = Path("runs") / PACKAGE / "version_0"
# The same seed, data order (the sampler's epoch) and restored optimizer and scheduler state make the
# resumed run repeat the uninterrupted one; 1e-6 allows for nothing but float noise.
TOLERANCE = 1e-6


def _weights(checkpoint: Path) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = torch.load(checkpoint, weights_only=False)["state_dict"]
    return state


@pytest.mark.slow
def test_killed_run_resumes_and_matches_an_uninterrupted_run(
    in_tmp_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (in_tmp_dir / "whole").mkdir()
    (in_tmp_dir / "killed").mkdir()
    monkeypatch.chdir(in_tmp_dir / "whole")
    whole = build(["fit", *EPOCHS, *QUIET])

    killed_fit(in_tmp_dir / "killed", 2, [*EPOCHS, *QUIET])
    monkeypatch.chdir(in_tmp_dir / "killed")
    saved = torch.load(RUN / "checkpoints" / "last.ckpt", weights_only=False)
    assert saved["epoch"] == 1  # epochs 0 and 1 done and checkpointed before the kill
    # The run's config.yaml names the callback that killed it; resumed without it, as after a crash.
    resumed = build(["fit", "--resume", "auto", "--trainer.callbacks=[]", *EPOCHS, *QUIET])

    assert resumed.trainer.current_epoch == whole.trainer.current_epoch == 3
    assert not (RUN.parent / "version_1").exists(), "resume must continue the killed run's folder"
    for name, value in _weights(RUN / "checkpoints" / "last.ckpt").items():
        expected = _weights(in_tmp_dir / "whole" / RUN / "checkpoints" / "last.ckpt")[name]
        assert torch.allclose(value, expected, atol=TOLERANCE), name
    for metric in ("val/acc", "val/loss"):
        assert resumed.trainer.callback_metrics[metric].item() == pytest.approx(
            whole.trainer.callback_metrics[metric].item(), abs=TOLERANCE
        )


def test_resume_auto_with_nothing_to_resume_says_so_and_writes_nothing(
    in_tmp_dir: Path, refused: Refused
) -> None:
    error = refused(["fit", "--resume", "auto"])
    assert "nothing to resume" in error and "--resume auto-or-fresh" in error
    assert list(in_tmp_dir.iterdir()) == []


def test_resume_auto_or_fresh_starts_a_new_run_when_there_is_none(
    in_tmp_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build(["fit", "--resume", "auto-or-fresh", "--trainer.max_steps=2", *QUIET])
    assert "Nothing to resume" in capsys.readouterr().out
    assert (in_tmp_dir / RUN / "checkpoints" / "last.ckpt").is_file()


def test_corrupt_checkpoint_is_refused_and_the_run_left_as_it_was(
    in_tmp_dir: Path, refused: Refused
) -> None:
    killed_fit(in_tmp_dir, 1, ["--trainer.max_epochs=2", *QUIET])  # after epoch 0's checkpoint
    last = in_tmp_dir / RUN / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:1000])  # a checkpoint cut short, as by a full disk
    before = {path: path.lstat().st_mtime_ns for path in (in_tmp_dir / "runs").rglob("*")}
    error = refused(["fit", "--resume", "auto", *QUIET])
    assert f"checkpoint {RUN / 'checkpoints' / 'last.ckpt'} cannot be read" in error
    assert {path: path.lstat().st_mtime_ns for path in (in_tmp_dir / "runs").rglob("*")} == before


def test_resume_never_continues_or_writes_into_a_finished_run(
    in_tmp_dir: Path, refused: Refused
) -> None:
    build(["fit", "--trainer.max_epochs=1", *QUIET])  # finished, its last.ckpt there
    killed_fit(in_tmp_dir, 0, QUIET)  # a newer run, killed before its first checkpoint
    before = tree(in_tmp_dir / "runs")
    error = refused(["fit", "--resume", "auto", *QUIET])
    assert error.startswith(
        "error: nothing to resume: no unfinished run under "
        f"{RUN.parent} has a checkpoints/last.ckpt (a finished run has nothing left to train)"
    ), error
    assert tree(in_tmp_dir / "runs") == before
