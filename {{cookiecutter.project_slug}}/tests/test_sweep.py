"""Sweeps: a small sweep prunes a poor trial offline, and a bad search space is refused before
anything runs. (That the project's own sweep file fits its model: test_your_project.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import optuna
import pytest
from conftest import Refused
import torch
import yaml

from {{ cookiecutter.package_name }}.infra.cli import main
from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal
from {{ cookiecutter.package_name }}.infra.tools import sweep

QUICK_FIT = [
    "--preset",
    "cpu",
    "--trainer.max_epochs=2",
    "--trainer.limit_train_batches=4",
    "--trainer.limit_val_batches=2",
    "--trainer.enable_progress_bar=false",
    "--trainer.enable_model_summary=false",
]


def _space(folder: Path, parameters: dict[str, object], **extra: object) -> Path:
    document = {
        "name": "test",
        "method": "random",
        "metric": {"name": "val/acc", "goal": "maximize"},
        "parameters": parameters,
        **extra,
    }
    path = folder / "space.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.mark.slow
def test_a_small_sweep_runs_offline_and_prunes_a_poor_trial(in_tmp_dir: Path) -> None:
    # A learning rate of 1e-5 learns next to nothing in two epochs: the median rule stops it.
    space = _space(
        in_tmp_dir,
        {"model.learning_rate": {"values": [5.0e-2, 1.0e-5]}},
        early_terminate={"type": "hyperband", "min_iter": 1},
    )
    storage = f"sqlite:///{in_tmp_dir / 'study.db'}"
    options = ["--space", str(space), "--storage", storage, "--trials", "3", "--seed", "0"]
    main(["sweep", *options, "--startup-trials", "1", *QUICK_FIT])

    study = optuna.load_study(study_name="test", storage=storage)
    states = {trial.number: trial.state for trial in study.trials}
    assert len(states) == 3
    pruned = [trial for trial in study.trials if trial.state == optuna.trial.TrialState.PRUNED]
    complete = [trial for trial in study.trials if trial.state == optuna.trial.TrialState.COMPLETE]
    assert pruned and complete, states
    assert all(trial.params["model.learning_rate"] == 1.0e-5 for trial in pruned)
    assert study.best_value > max(trial.intermediate_values[1] for trial in pruned)
    # The trials' folders are the study's own: runs/sweeps/test-<the id made with the study>.
    folder = in_tmp_dir / "runs" / "sweeps" / study.user_attrs["run_folder"]
    assert re.fullmatch(r"test-[0-9a-f]{8}", folder.name)
    assert sorted(path.name for path in folder.iterdir()) == [f"trial-{n:04d}" for n in states]
    for trial in study.trials:
        assert trial.user_attrs["run_folder"] == str(
            folder.relative_to(in_tmp_dir) / f"trial-{trial.number:04d}"
        )
        assert (folder / f"trial-{trial.number:04d}" / "config.yaml").exists()


def test_unknown_argument_in_the_space_is_refused_before_anything_runs(
    in_tmp_dir: Path, refused: Refused
) -> None:
    space = _space(in_tmp_dir, {"model.learnig_rate": {"values": [1.0e-3]}})
    error = refused(["sweep", "--space", str(space), *QUICK_FIT])
    assert f"error: {space}: parameter 'model.learnig_rate' is not an argument of fit" in error
    assert sorted(path.name for path in in_tmp_dir.iterdir()) == ["space.yaml"]


def test_value_that_fit_refuses_is_named_with_its_parameter(
    in_tmp_dir: Path, refused: Refused
) -> None:
    space = _space(in_tmp_dir, {"model.hidden": {"values": [16, 32.5]}})
    error = refused(["sweep", "--space", str(space), *QUICK_FIT])
    assert "parameter 'model.hidden': fit refuses --model.hidden=32.5" in error
    assert sorted(path.name for path in in_tmp_dir.iterdir()) == ["space.yaml"]


def test_trials_on_several_devices_are_refused(in_tmp_dir: Path, refused: Refused) -> None:
    space = _space(in_tmp_dir, {"model.hidden": {"values": [16]}})
    devices = ["--trainer.accelerator=cpu", "--trainer.devices=2"]
    error = refused(["sweep", "--space", str(space), *devices])
    assert "each trial runs in this process on one device, but trainer.devices=2" in error


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks what a machine without a GPU says")
def test_gpu_trials_without_a_gpu_are_refused_before_anything_runs(
    in_tmp_dir: Path, refused: Refused
) -> None:
    space = _space(in_tmp_dir, {"model.hidden": {"values": [16]}})
    error = refused(["sweep", "--space", str(space), "--preset", "gpu"])
    assert "no CUDA GPU is visible" in error
    assert sorted(path.name for path in in_tmp_dir.iterdir()) == ["space.yaml"]


@pytest.mark.parametrize(
    ("parameters", "extra", "message"),
    [
        ({"model.learning_rate": {"min": "3e-4", "max": 0.1}}, {}, "is not a number"),
        (
            {"model.learning_rate": {"distribution": "normal", "mu": 0, "sigma": 1}},
            {},
            "distribution 'normal' is not supported",
        ),
        ({"model.learning_rate": {"min": 0.1, "max": 0.01}}, {}, "min < max"),
        ({"model.hidden": {"values": []}}, {}, "values must be a non-empty list"),
        ({"model.hidden": {"values": [16]}}, {"method": "grid"}, "method 'grid'"),
        ({}, {}, "parameters is empty"),
    ],
    ids=["text-number", "distribution", "bounds", "no-values", "method", "no-parameters"],
)
def test_malformed_sweep_files_are_refused_naming_the_setting(
    in_tmp_dir: Path, parameters: dict[str, object], extra: dict[str, object], message: str
) -> None:
    with pytest.raises(Refusal, match=message):
        sweep.load_space(_space(in_tmp_dir, parameters, **extra))


def test_a_joining_worker_that_sees_the_search_also_sees_the_trial_folder(
    in_tmp_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second worker joins as soon as the study's search is recorded (check_same_search), then
    reads its trial folder: after every write of the creating worker, a study that has its search
    has its folder too (two workers once raced here: KeyError 'run_folder')."""
    storage = f"sqlite:///{in_tmp_dir / 'study.db'}"
    space = sweep.load_space(_space(in_tmp_dir, {"model.learning_rate": {"values": [0.01]}}))
    seen: list[dict[str, object]] = []
    write = optuna.study.Study.set_user_attr

    def write_then_look(study: optuna.Study, key: str, value: object) -> None:
        write(study, key, value)
        seen.append(optuna.load_study(study_name="test", storage=storage).user_attrs)

    monkeypatch.setattr(optuna.study.Study, "set_user_attr", write_then_look)
    sweep.make_study(space, ("val/acc", "maximize"), storage, "test", 1, 0)
    joinable = [attrs for attrs in seen if sweep.SEARCH_ATTRIBUTE in attrs]
    assert joinable and all(sweep.FOLDER_ATTRIBUTE in attrs for attrs in joinable)
    assert sweep.SEARCH_ATTRIBUTE in seen[-1]
