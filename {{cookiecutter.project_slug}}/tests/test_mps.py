"""The mps preset (Apple silicon): refused where MPS is absent, and refused with what MPS cannot run.

No Mac runs these tests, so MPS's availability is mocked; each refusal happens before anything is
written, exactly as on a Mac.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Refused
import torch

from {{ cookiecutter.package_name }}.infra.machine import hardware
from {{ cookiecutter.package_name }}.infra.machine.doctor import mps_support


@pytest.fixture
def mps_present(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)


@pytest.fixture
def mps_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def test_the_mps_preset_is_refused_where_mps_is_absent(
    mps_absent: None, in_tmp_dir: Path, refused: Refused
) -> None:
    error = refused(["fit", "--preset", "mps"])
    assert error == (
        "error: trainer.accelerator=mps but MPS is not available here (it needs a Mac on Apple "
        "silicon, macOS 14 or newer and torch's macOS build): use --preset cpu\n"
    )
    assert list(in_tmp_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--preset", "bf16"],
            "trainer.precision=bf16-mixed on MPS: this project runs MPS in 32-bit precision",
        ),
        (
            ["--preset", "fp16"],
            "trainer.precision=16-mixed on MPS: this project runs MPS in 32-bit precision",
        ),
        (["--preset", "compile"], "compile=true (the compile preset) on MPS"),
        (
            ["--trainer.strategy", "ddp", "--trainer.devices", "1"],
            "trainer.strategy=ddp on 1 node(s) cannot run on MPS",
        ),
        (["--trainer.devices", "2"], "trainer.devices=2 on MPS: a Mac has one GPU"),
    ],
)
def test_what_mps_cannot_run_is_refused_in_one_line(
    mps_present: None, in_tmp_dir: Path, refused: Refused, flags: list[str], message: str
) -> None:
    error = refused(["fit", "--preset", "mps", *flags])
    assert error.startswith(f"error: {message}")
    assert error.count("\n") == 1
    assert list(in_tmp_dir.iterdir()) == []


def test_one_32_bit_process_on_mps_passes_the_check(mps_present: None) -> None:
    hardware.check("mps", 1, "32-true")  # raises if refused


def test_doctor_reports_mps(mps_present: None) -> None:
    assert mps_support() == "available (Apple silicon): --preset mps"


def test_doctor_reports_mps_absent_off_a_mac(mps_absent: None) -> None:
    assert mps_support().startswith("not available")
