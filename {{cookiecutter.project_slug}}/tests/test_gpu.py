"""The GPU presets on a real GPU; skipped, with the reason, on machines without one."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from {{ cookiecutter.package_name }}.infra.cli import main
from {{ cookiecutter.package_name }}.infra.training.lightning_cli import build

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU; none is visible"),
]


@pytest.mark.parametrize(
    "preset_args",
    [
        ["--preset", "gpu"],
        ["--preset", "gpu", "--preset", "bf16"],
        ["--preset", "gpu", "--preset", "fp16"],
        pytest.param(
            ["--preset", "ddp", "--preset", "bf16"],
            marks=pytest.mark.skipif(
                torch.cuda.device_count() < 2,
                reason="the ddp preset runs a process per GPU and needs 2 or more GPUs",
            ),
        ),
    ],
    ids=["gpu", "gpu-bf16", "gpu-fp16", "ddp-bf16"],
)
def test_gpu_presets_train_to_accuracy(preset_args: list[str], in_tmp_dir: Path) -> None:
    cli = build(
        ["fit", *preset_args, "--trainer.max_epochs", "6", "--trainer.enable_progress_bar", "false"]
    )
    assert cli.trainer.strategy.root_device.type == "cuda"
    loss = cli.trainer.callback_metrics["val/loss"].item()
    assert math.isfinite(loss)
    assert cli.trainer.callback_metrics["val/acc"].item() > 0.9


def test_bf16_is_refused_on_gpus_without_it(capsys: pytest.CaptureFixture[str]) -> None:
    if torch.cuda.is_bf16_supported():
        pytest.skip("this GPU supports bfloat16")
    with pytest.raises(SystemExit):
        main(["fit", "--preset", "gpu", "--preset", "bf16"])
    assert "needs bfloat16" in capsys.readouterr().err


def test_ddp_preset_on_one_gpu_is_refused_with_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    if torch.cuda.device_count() != 1:
        pytest.skip("checks what a machine with exactly one GPU says")
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--preset", "ddp"])
    error = capsys.readouterr().err
    assert exit_info.value.code != 0
    assert "trainer.devices=-1 on 1 node: 1 GPU visible" in error and "--preset gpu" in error
