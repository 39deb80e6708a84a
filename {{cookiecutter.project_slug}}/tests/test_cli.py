"""The command line as a user runs it: training to accuracy, presets, the run directory, bad input."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import FittedRun, Refused
import torch
import yaml
from lightning.pytorch import Callback, LightningModule, Trainer

from {{ cookiecutter.package_name }}.infra.cli import main
from {{ cookiecutter.package_name }}.infra.command_line import presets
from {{ cookiecutter.package_name }}.infra.training.lightning_cli import build

PROG = "python -m {{ cookiecutter.package_name }}"
COMMANDS = [
    *("fit", "validate", "test", "predict"),
    *("presets", "bench", "doctor", "sweep", "runs", "report", "gpus"),
]
QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


def test_a_run_writes_config_logs_and_checkpoints_into_one_directory(fitted_run: FittedRun) -> None:
    run = fitted_run.directory
    assert [
        path.relative_to(run.parents[2]) for path in run.parents[2].glob("runs/*/version_*")
    ] == [Path("runs", "{{ cookiecutter.package_name }}", "version_0")]
    names = {path.name for path in run.iterdir()}
    assert {"config.yaml", "hparams.yaml", "checkpoints", "provenance.json"} <= names
    checkpoints = {path.name for path in (run / "checkpoints").iterdir()}
    (best,) = (name for name in checkpoints if name.startswith("epoch"))
    assert checkpoints == {"last.ckpt", best}
    assert re.fullmatch(r"epoch00[0-5]-val_acc0\.\d{4}\.ckpt", best)
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["trainer"]["max_epochs"] == fitted_run.epochs


def test_every_preset_parses_and_has_a_description() -> None:
    described = presets.available()
    assert {"cpu", "gpu", "ddp", "fp16", "bf16", "debug"} <= set(described)
    for name, description in described.items():
        assert description, f"preset {name} has no first-line comment"
        assert isinstance(yaml.safe_load(presets.path(name).read_text()), dict)


def test_presets_compose_in_order_and_flags_win(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["fit", "--preset", "cpu", "--preset=bf16", "--trainer.max_epochs=7", "--print_config"]
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 0
    trainer = yaml.safe_load(capsys.readouterr().out)["trainer"]
    assert trainer["accelerator"] == "cpu"
    assert trainer["precision"] == "bf16-mixed"
    assert trainer["max_epochs"] == 7


def test_presets_command_lists_each_preset_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    main(["presets"])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(presets.available())


def test_bf16_preset_trains_on_cpu(in_tmp_dir: Path) -> None:
    # bfloat16 convolutions are slow on most CPUs: a few steps show that it trains and validates.
    steps = [
        "--trainer.max_epochs=1",
        "--trainer.limit_train_batches=4",
        "--trainer.limit_val_batches=2",
    ]
    cli = build(["fit", "--preset", "cpu", "--preset", "bf16", *steps, *QUIET])
    assert cli.trainer.precision == "bf16-mixed"
    assert math.isfinite(cli.trainer.callback_metrics["val/loss"].item())


def test_debug_preset_runs_one_batch_and_writes_nothing(in_tmp_dir: Path) -> None:
    cli = build(["fit", "--preset", "debug", *QUIET])
    assert cli.trainer.global_step == 1
    assert list(in_tmp_dir.iterdir()) == []


def test_unknown_preset_is_refused_with_the_valid_names(in_tmp_dir: Path, refused: Refused) -> None:
    error = refused(["fit", "--preset", "gpus"])
    assert error.startswith("error: unknown preset 'gpus'; valid presets: bf16, ")
    assert list(in_tmp_dir.iterdir()) == []


def test_contradicting_presets_are_refused(in_tmp_dir: Path, refused: Refused) -> None:
    error = refused(["fit", "--preset", "fp16", "--preset", "bf16"])
    assert "presets 'fp16' and 'bf16' conflict: trainer.precision" in error
    assert list(in_tmp_dir.iterdir()) == []


def test_fp16_on_cpu_is_refused_before_anything_is_written(
    in_tmp_dir: Path, refused: Refused
) -> None:
    error = refused(["fit", "--preset", "cpu", "--preset", "fp16"])
    assert "needs a CUDA GPU" in error and "use --preset bf16" in error
    assert list(in_tmp_dir.iterdir()) == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks what a machine without a GPU says")
def test_gpu_preset_without_a_gpu_is_refused_with_the_fix(
    in_tmp_dir: Path, refused: Refused
) -> None:
    error = refused(["fit", "--preset", "gpu"])
    assert "no CUDA GPU is visible" in error and "--preset cpu" in error
    assert list(in_tmp_dir.iterdir()) == []


def test_ddp_with_a_single_process_is_refused_with_the_fix(
    in_tmp_dir: Path, refused: Refused
) -> None:
    args = ["fit", "--trainer.accelerator=cpu", "--trainer.devices=1", "--trainer.strategy=ddp"]
    error = refused(args)
    assert "trainer.strategy=ddp with a single process" in error and "--trainer.devices 2" in error
    assert list(in_tmp_dir.iterdir()) == []


def test_compile_without_a_cpp_compiler_is_refused(
    in_tmp_dir: Path, refused: Refused, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(in_tmp_dir))  # no compiler on PATH
    error = refused(["fit", "--preset", "cpu", "--preset", "compile"])
    assert "needs a C++ compiler" in error and "drop --preset compile" in error


class BatchShapes(Callback):
    """Notes the shape of every training batch's features."""

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def on_train_batch_start(
        self, trainer: Trainer, pl_module: LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self.shapes.append(tuple(batch[0].shape))


def test_overfit_preset_trains_on_one_whole_batch_again_and_again(in_tmp_dir: Path) -> None:
    # The small project's data comes from batched_loader, whose batches Lightning's overfit mode
    # would otherwise turn into single samples.
    shapes = BatchShapes()
    cli = build(
        ["fit", "--preset", "overfit", "--trainer.max_epochs=30", *QUIET], callbacks=[shapes]
    )
    assert shapes.shapes == [(16, 4)] * 30
    assert cli.trainer.callback_metrics["train/loss_epoch"].item() < 0.05


def test_profile_preset_writes_its_report_into_the_run_directory(in_tmp_dir: Path) -> None:
    cli = build(["fit", "--preset", "profile", "--trainer.max_steps=5", *QUIET])
    report = Path(cli.trainer.log_dir or "") / "fit-profile.txt"
    assert "run_training_batch" in report.read_text()


def test_last_checkpoint_is_the_latest_epoch_even_without_improvement(in_tmp_dir: Path) -> None:
    # A learning rate of 0 keeps val/acc flat, so the best checkpoint stays at epoch 0.
    short = ["--trainer.limit_train_batches=2", "--trainer.limit_val_batches=2"]
    cli = build(["fit", "--trainer.max_epochs=3", "--model.learning_rate=0", *short, *QUIET])
    checkpoints = Path(cli.trainer.log_dir or "") / "checkpoints"
    assert [path.name for path in checkpoints.glob("epoch*.ckpt")] == [
        path.name for path in checkpoints.glob("epoch000-*.ckpt")
    ]
    assert torch.load(checkpoints / "last.ckpt", weights_only=False)["epoch"] == 2


def test_help_lists_every_command_and_the_preset_option(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--help"])
    out = capsys.readouterr().out
    assert out.startswith(f"usage: {PROG} COMMAND")
    listed = [line.split()[0] for line in out.split("commands:\n")[1].split("\n\n")[0].splitlines()]
    assert listed == COMMANDS
    assert "--preset NAME" in out


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_help_says_how_to_run_it(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    usage = out.splitlines()[0]
    assert usage.startswith(f"usage: {PROG} ") and f" {command}" in usage, usage
    if command == "presets":
        assert not any(line.startswith("debug ") for line in out.splitlines()), "help, not the list"


def test_an_unknown_command_is_refused_with_the_commands(refused: Refused) -> None:
    error = refused(["fits"])
    assert error.startswith("error: unknown command 'fits'; commands: fit, validate, ")
