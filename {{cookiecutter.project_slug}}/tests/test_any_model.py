"""Every preset and command works for any LightningModule and LightningDataModule, not only the
examples: the tests' small project (small_project.py) and classes that do not fit it (mismatched.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from conftest import CONFIG_VARIABLE, Refused, left_behind
from lightning.fabric.utilities import data as fabric_data
from small_project import DictRegressor, SmallClassifier

from {{ cookiecutter.package_name }}.infra.cli import main
from {{ cookiecutter.package_name }}.infra.training.lightning_cli import build

QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]
# The regression of small_project.py, named for one run as the README shows.
REGRESSION = [
    *("--model", "small_project.DictRegressor", "--data", "small_project.LineData"),
    *("--checkpoint.monitor", "val/loss", "--checkpoint.mode", "min"),
]
WARNING_LINE = re.compile(r"\.py:\d+: ")  # how Python prints a warning: "path/file.py:12: ..."
# The process is told it has eight cores, as a laptop or a GPU box has (see test_output.py).
EIGHT_CORES = """import os
os.sched_getaffinity = lambda pid: set(range(8))
os.cpu_count = lambda: 8
"""
HAS_CPP_COMPILER = any(shutil.which(name) for name in ("c++", "g++", "clang++"))


def one_error(stderr: str) -> str:
    """The one `error:` line of a refusal (and no traceback)."""
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in stderr, stderr
    return errors[0]


# The compile preset


@pytest.mark.slow  # torch.compile on a CPU: about 20 s, 40 s with a cold compiler cache (2 cores)
@pytest.mark.skipif(not HAS_CPP_COMPILER, reason="torch.compile needs a C++ compiler on a CPU")
def test_the_compile_preset_compiles_any_module_and_keeps_its_parameter_names() -> None:
    cli = build(["fit", "--preset", "compile", "--trainer.max_epochs", "1", *QUIET])
    assert type(cli.model) is SmallClassifier and cli.trainer.global_step == 10
    assert cli.model._compiled_call_impl is not None  # what nn.Module.compile sets
    best = cli.trainer.checkpoint_callback.best_model_path  # type: ignore[union-attr]
    saved = torch.load(best, weights_only=True)["state_dict"]
    assert list(saved) == list(SmallClassifier().state_dict())


# Without a compiler, the machine's refusal (no C++ compiler) comes before the model's.
@pytest.mark.skipif(not HAS_CPP_COMPILER, reason="torch.compile needs a C++ compiler on a CPU")
def test_compile_of_a_module_without_a_forward_is_refused(
    in_tmp_dir: Path, refused: Refused
) -> None:
    error = one_error(refused(["fit", "--preset", "compile", "--model", "mismatched.NoForward"]))
    assert "mismatched.NoForward has none" in error and "drop --preset compile" in error
    assert left_behind(in_tmp_dir) == []


# Switching --model and --data


def test_the_readme_one_run_form_trains_another_model_and_writes_its_config() -> None:
    # SmallClassifier's learning_rate (a NonNegativeFloat) is carried by name into DictRegressor's
    # plain float: config.yaml, the provenance and the checkpoint all take it as a plain number.
    cli = build(["fit", *REGRESSION, "--trainer.max_epochs", "1", *QUIET])
    assert type(cli.model) is DictRegressor and cli.trainer.global_step == 10
    saved = yaml.safe_load((Path(cli.trainer.log_dir or "") / "config.yaml").read_text())
    assert saved["model"]["class_path"] == "small_project.DictRegressor"
    assert saved["data"]["class_path"] == "small_project.LineData"
    assert type(saved["model"]["init_args"]["learning_rate"]) is float
    best = cli.trainer.checkpoint_callback.best_model_path  # type: ignore[union-attr]
    hyperparameters = torch.load(best, weights_only=True)["hyper_parameters"]
    assert type(hyperparameters["learning_rate"]) is float


@pytest.mark.parametrize(
    "switch",
    [
        ["--model", "small_project.DictRegressor"],
        ["--data", "mismatched.PlainLineData"],  # BlobsData's PositiveInt batch_size into an int
    ],
)
def test_print_config_of_a_switched_class_prints_plain_numbers(
    switch: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *switch, "--print_config"])
    assert exit_info.value.code in (0, None)
    printed = yaml.safe_load(capsys.readouterr().out)
    section = "model" if switch[0] == "--model" else "data"
    assert printed[section]["class_path"] == switch[1]
    numbers = printed[section]["init_args"]
    assert numbers and all(type(value) in (int, float) for value in numbers.values()), numbers


# Quiet output for an ordinary DataLoader


def test_a_fit_on_an_ordinary_loader_prints_no_warning(in_tmp_dir: Path) -> None:
    # A real process on eight cores, as test_output.py runs one: LineData's loader has no workers
    # (Lightning's advice to add some), and 10 batches an epoch under a logging interval of 50.
    (in_tmp_dir / "cores").mkdir()
    (in_tmp_dir / "cores" / "sitecustomize.py").write_text(EIGHT_CORES)
    path = os.pathsep.join(filter(None, [str(in_tmp_dir / "cores"), os.environ.get("PYTHONPATH")]))
    flags = ["--trainer.max_epochs", "2", "--trainer.log_every_n_steps", "50"]
    command = [sys.executable, "-m", "{{ cookiecutter.package_name }}", "fit", *REGRESSION, *flags]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": path}
    )
    assert result.returncode == 0, result.stderr
    lines = (result.stdout + result.stderr).splitlines()
    assert [line for line in lines if WARNING_LINE.search(line)] == []
    assert not [line for line in lines if "note:" in line]  # its loader is not what is slow
    assert any("Run directory:" in line for line in lines)


def test_a_logging_interval_longer_than_the_epoch_is_shortened_to_it() -> None:
    args = ["fit", *REGRESSION, "--trainer.max_epochs", "1", "--trainer.log_every_n_steps", "50"]
    trainer: Any = build([*args, *QUIET]).trainer  # log_every_n_steps is set at run time, untyped
    assert trainer.num_training_batches == 10 and trainer.log_every_n_steps == 10
    assert "train/loss_step" in trainer.logged_metrics  # logged within the epoch


def test_a_loader_the_loop_waits_for_gets_one_line_of_advice(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(fabric_data, "_num_cpus_available", lambda: 8)  # a laptop's core count
    args = [*REGRESSION, "--data", "mismatched.SlowLineData", "--trainer.max_epochs", "1"]
    build(["fit", *args, *QUIET])
    printed = capsys.readouterr()
    notes = [line for line in (printed.out + printed.err).splitlines() if "note:" in line]
    assert len(notes) == 1, notes
    assert "waited for its DataLoader" in notes[0] and "(num_workers=0)" in notes[0]
    assert "up to 7 here" in notes[0]


# The classes named, checked before anything runs


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--model", "small_project.SmallClassifer"],
            "model: module small_project has no SmallClassifer: "
            "did you mean small_project.SmallClassifier?",
        ),
        (
            ["--data.class_path", "small_project.LinData"],
            "data: module small_project has no LinData: did you mean small_project.LineData?",
        ),
        (
            ["--model", "small_projekt.SmallClassifier"],
            "model: small_projekt.SmallClassifier: there is no module small_projekt; "
            "check its spelling",
        ),
        (
            ["--model", "small_project.BlobsData"],
            "model: small_project.BlobsData is a LightningDataModule, not a LightningModule: "
            "give it as --data, and a LightningModule as --model",
        ),
        (
            ["--data", "small_project.SmallClassifier"],
            "data: small_project.SmallClassifier is a LightningModule, not a LightningDataModule: "
            "give it as --model",
        ),
        (
            ["--model", "mismatched.Network"],
            "model: mismatched.Network is a torch module, not a LightningModule: name a "
            "LightningModule that holds it",
        ),
    ],
)
def test_a_class_that_cannot_be_used_is_refused_naming_it_and_the_fix(
    in_tmp_dir: Path, refused: Refused, flags: list[str], message: str
) -> None:
    assert message in one_error(refused(["fit", *flags]))
    assert left_behind(in_tmp_dir) == []


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("model", "no model named: {file} has no model section; name your LightningModule"),
        ("data", "no data named: {file} has no data section, and the model "),
    ],
)
def test_a_config_that_names_no_model_or_no_data_is_refused(
    section: str,
    message: str,
    in_tmp_dir: Path,
    refused: Refused,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = tmp_path_factory.mktemp("config") / "config.yaml"
    settings = yaml.safe_load(Path(os.environ[CONFIG_VARIABLE]).read_text())
    del settings[section]  # as config.yaml is with its section commented out
    project.write_text(yaml.safe_dump(settings))
    monkeypatch.setenv(CONFIG_VARIABLE, str(project))
    error = one_error(refused(["fit"]))
    assert message.format(file=project) in error and f"--{section} MODULE.CLASS" in error
    assert left_behind(in_tmp_dir) == []


def test_a_module_of_yours_that_fails_to_import_shows_its_traceback(
    in_tmp_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not a mistake in the name: the error is in the module, and its traceback points there.
    (in_tmp_dir / "broken_module.py").write_text("import a_package_not_installed\n")
    monkeypatch.syspath_prepend(str(in_tmp_dir))
    with pytest.raises(ModuleNotFoundError, match="a_package_not_installed"):
        build(["fit", "--model", "broken_module.Model"])


# A model and data that do not fit each other


def test_a_model_that_does_not_take_its_datas_batches_is_refused_at_the_first_step(
    in_tmp_dir: Path, refused: Refused
) -> None:
    error = one_error(refused(["fit", *REGRESSION, "--model", "mismatched.WideRegressor"]))
    assert error.startswith(
        "error: the first validation step of mismatched.WideRegressor on "
        "small_project.LineData's first batch failed: RuntimeError: mat1 and mat2 shapes cannot "
        "be multiplied (16x4 and 5x1) (forward, small_project.py:"
    )
    assert error.endswith(
        "that batch holds {'features': float32[16, 4], 'target': float32[16]}: "
        "make the model's inputs fit the data's batches"
    )
    assert left_behind(in_tmp_dir) == []  # the run folder it made is gone


@pytest.mark.parametrize(
    ("model", "raised"),
    [
        ("mismatched.FailsLater", RuntimeError),  # after the first step: model and data fit
        ("mismatched.Misspelt", AttributeError),  # an error of code, at the first step
    ],
)
def test_a_bug_keeps_its_traceback(model: str, raised: type[Exception]) -> None:
    with pytest.raises(raised):
        build(["fit", *REGRESSION, "--model", model, "--trainer.max_epochs", "1", *QUIET])
