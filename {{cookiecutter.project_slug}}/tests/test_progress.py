"""The progress bar: few redraws, and a last one that shows where training ended."""

from __future__ import annotations

from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.infra.training import progress
from {{ cookiecutter.package_name }}.infra.training.lightning_cli import build

EPOCHS = 3


def test_bars_redraw_on_the_clock_and_the_last_frame_is_complete(
    in_tmp_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A clock that never allows a redraw: what is left are the draws no bar can skip.
    monkeypatch.setattr(progress, "REDRAW_SECONDS", 3600.0)
    build(
        [
            "fit",
            f"--trainer.max_epochs={EPOCHS}",
            "--trainer.enable_model_summary=false",
            "--trainer.logger=false",
            "--trainer.default_root_dir=.",  # without a logger, the folder must be named
        ]
    )
    frames = capsys.readouterr().out.split("\r")
    # Each bar (the sanity check's, training's, one validation bar an epoch) draws when it is made,
    # at its first refresh and when it closes (a bar that is not kept is cleared in two writes);
    # Lightning's bars drew 56 frames here.
    assert len(frames) - 1 <= 4 * (2 + EPOCHS)
    last = [frame for frame in frames if frame.startswith("Epoch")][-1]
    assert f"Epoch {EPOCHS - 1}: 100%" in last and "10/10" in last
    assert "loss=" in last and "val/acc=" in last
