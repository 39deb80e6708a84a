"""Weights & Biases runs offline without an API key, and never writes the key to a file."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
import wandb

from {{ cookiecutter.package_name }}.infra.training.lightning_cli import build
from {{ cookiecutter.package_name }}.infra.training.wandb_logger import has_api_key

QUIET = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]
SECRET = "0123456789abcdef0123456789abcdef01234567"  # shaped like a W&B key; never sent anywhere


@pytest.fixture(autouse=True)
def no_wandb_account(in_tmp_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HOME", str(in_tmp_dir))  # no ~/.netrc from a real `wandb login`
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("WANDB_SILENT", "true")
    # Lightning's W&B logger joins the run already active in the process (another test's fit).
    wandb.finish()
    yield
    wandb.finish()


def test_without_a_key_the_run_is_offline_beside_the_run_directory(in_tmp_dir: Path) -> None:
    assert not has_api_key()
    cli = build(["fit", "--trainer.max_epochs=1", *QUIET])
    wandb.finish()
    # An offline run is a folder for `wandb sync`; an online one would be named run-*.
    assert len(list((in_tmp_dir / "runs").rglob("offline-run-*"))) == 1
    assert not list((in_tmp_dir / "runs").rglob("run-*/"))
    with open(Path(cli.trainer.log_dir or "") / "metrics.csv") as file:
        assert any(row["val/acc"] for row in csv.DictReader(file))


def test_the_api_key_is_never_written_to_any_file(
    in_tmp_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANDB_API_KEY", SECRET)
    monkeypatch.setenv("WANDB_MODE", "offline")  # a key, but no network in tests
    assert has_api_key()
    build(["fit", "--trainer.max_steps=3", *QUIET])
    written = [path for path in (in_tmp_dir / "runs").rglob("*") if path.is_file()]
    assert written
    assert not [path for path in written if SECRET.encode() in path.read_bytes()]
