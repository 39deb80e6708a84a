"""The regression example, added as a user adds a model: new files (regressor.py, diabetes.py) and a
preset (presets/diabetes.yaml), nothing changed in infra/. The presets, resume, provenance, the
sweep, doctor and bench work with it as they are (DDP: test_ddp.py)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import optuna
import pytest
import torch
import yaml
from conftest import CONFIG_VARIABLE, killed_fit, write_locks
from lightning.pytorch.callbacks import ModelCheckpoint

from {{ cookiecutter.package_name }}.infra.cli import main
from {{ cookiecutter.package_name }}.infra.training.lightning_cli import build

DIABETES = ["--preset", "diabetes"]
DIGITS = Path(__file__).with_name("digits.yaml")
QUIET = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]
# Predicting the mean of the standardised target gives a mean squared error of about 1; a linear
# model about 0.5 on this split.
GOOD_ENOUGH_LOSS = 0.7


@pytest.fixture(autouse=True)
def digits_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    # The preset on top of config.yaml as a bake with the examples has it, whatever it says now.
    monkeypatch.setenv(CONFIG_VARIABLE, str(DIGITS))


def _state(checkpoint: Path) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = torch.load(checkpoint, weights_only=False)["state_dict"]
    return state


def test_fit_learns_and_keeps_the_checkpoint_with_the_lowest_val_loss(in_tmp_dir: Path) -> None:
    cli = build(["fit", *DIABETES, "--trainer.max_epochs=10", *QUIET])
    assert type(cli.model).__name__ == "Regressor"
    assert cli.trainer.callback_metrics["val/loss"].item() < GOOD_ENOUGH_LOSS
    checkpoint = cli.trainer.checkpoint_callback
    assert isinstance(checkpoint, ModelCheckpoint)
    assert (checkpoint.monitor, checkpoint.mode) == ("val/loss", "min")
    (best,) = (Path(cli.trainer.log_dir or "") / "checkpoints").glob("epoch*-val_loss*.ckpt")
    score = checkpoint.best_model_score
    assert score is not None and float(best.stem.split("val_loss")[1]) == round(score.item(), 4)


def test_report_draws_its_curves_and_provenance_without_code_of_its_own(
    in_tmp_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build(["fit", *DIABETES, "--trainer.max_epochs=3", *QUIET])
    main(["report"])
    (page,) = Path("reports").rglob("report.html")
    assert capsys.readouterr().out.endswith(f": {page}\n")
    text = page.read_text()
    # One picture: loss, training and validation, over the three epochs; no figures of its own.
    assert text.count('src="data:image/png;base64,') == 1
    assert "Regressor has no report_figures(data) method" in text
    assert "<th>Presets</th><td><code>diabetes</code>" in text


def test_presets_compose_with_it(in_tmp_dir: Path) -> None:
    build(["fit", *DIABETES, "--preset", "debug", *QUIET])
    assert list(in_tmp_dir.iterdir()) == []  # the debug preset writes nothing
    cli = build(["fit", *DIABETES, "--preset", "cpu", "--preset", "bf16", "--trainer.max_epochs=1"])
    assert cli.trainer.precision == "bf16-mixed"
    assert torch.isfinite(cli.trainer.callback_metrics["val/loss"])


@pytest.mark.slow
def test_resume_continues_to_the_same_weights_and_records_provenance(
    in_tmp_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = Path("runs") / "{{ cookiecutter.package_name }}" / "version_0"
    for folder in ("whole", "resumed"):
        (in_tmp_dir / folder).mkdir()
    monkeypatch.chdir(in_tmp_dir / "whole")
    build(["fit", *DIABETES, "--trainer.max_epochs=4", *QUIET])
    killed_fit(in_tmp_dir / "resumed", 2, [*DIABETES, "--trainer.max_epochs=4", *QUIET])
    monkeypatch.chdir(in_tmp_dir / "resumed")
    # The run's config.yaml names the callback that killed it; resumed without it, as after a crash.
    resumed = build(["fit", *DIABETES, "--resume", "auto", "--trainer.callbacks=[]", *QUIET])
    assert resumed.trainer.current_epoch == 4
    whole = _state(in_tmp_dir / "whole" / run / "checkpoints" / "last.ckpt")
    for name, value in _state(run / "checkpoints" / "last.ckpt").items():
        assert torch.allclose(value, whole[name], atol=1e-6), name
    record = json.loads((run / "provenance.json").read_text())
    config = (run / "config.yaml").read_bytes()
    assert record["config_sha256"] == hashlib.sha256(config).hexdigest()
    assert yaml.safe_load(config)["model"]["class_path"].endswith(".regressor.Regressor")


@pytest.mark.slow
def test_the_sweep_minimises_val_loss_when_the_sweep_file_names_no_metric(
    in_tmp_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    space = in_tmp_dir / "space.yaml"
    parameters = {"model.hidden": {"values": [8, 32]}}
    space.write_text(
        yaml.safe_dump({"name": "diabetes", "method": "random", "parameters": parameters})
    )
    storage = f"sqlite:///{in_tmp_dir / 'study.db'}"
    options = ["--space", str(space), "--storage", storage, "--trials", "2", "--seed", "0"]
    main(["sweep", *options, *DIABETES, "--preset", "cpu", "--trainer.max_epochs=2", *QUIET])
    assert "objective: minimize val/loss" in capsys.readouterr().out
    study = optuna.load_study(study_name="diabetes", storage=storage)
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    values = [trial.value for trial in study.trials]
    assert len(values) == 2 and study.best_value == min(v for v in values if v is not None)


def test_doctor_says_its_presets_run_here(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    locks = write_locks(tmp_path / "requirements", {})
    main(["doctor", "--preset", "diabetes", "--preset", "cpu", "--requirements", str(locks)])
    assert "--preset diabetes --preset cpu: can run here" in capsys.readouterr().out


def test_bench_times_its_loop(capsys: pytest.CaptureFixture[str]) -> None:
    options = ["--workloads", "project", "--settings", "fp32", "--warmup", "2", "--steps", "8"]
    options += ["--repeats", "1"]
    main(["bench", *options, *DIABETES])
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    (row,) = [row for row in rows if row[:2] == ["project", "fp32"]]
    assert row[3] == "sample/s" and float(row[2].replace(",", "")) > 0
    assert re.fullmatch(r"[\d.]+", row[-2]) and re.fullmatch(r"[\d.]+-[\d.]+", row[-1])
