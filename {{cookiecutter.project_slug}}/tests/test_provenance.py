"""Every run records the code, environment, configuration and seed that made it."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import yaml

from {{ cookiecutter.package_name }}.infra.training.lightning_cli import build

QUIET = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]


def _git(folder: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args]
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, check=True).stdout


def test_run_directory_records_commit_diff_locks_config_and_seed(in_tmp_dir: Path) -> None:
    (in_tmp_dir / "requirements").mkdir()
    (in_tmp_dir / "requirements" / "prod.txt").write_text("torch==2.13.0\n")
    (in_tmp_dir / "notes.md").write_text("first\n")
    _git(in_tmp_dir, "init", "--quiet")
    _git(in_tmp_dir, "add", "--all")
    _git(in_tmp_dir, "commit", "--quiet", "-m", "start")
    (in_tmp_dir / "notes.md").write_text("first\nchanged after the commit\n")

    cli = build(["fit", "--trainer.max_steps=2", "--seed_everything=7", *QUIET])
    run = Path(cli.trainer.log_dir or "")
    record = json.loads((run / "provenance.json").read_text())

    assert record["git"]["commit"] == _git(in_tmp_dir, "rev-parse", "HEAD").strip()
    assert record["git"]["dirty"] is True
    assert "+changed after the commit" in (run / "git.diff").read_text()
    expected_lock = hashlib.sha256(b"torch==2.13.0\n").hexdigest()
    assert record["locks"] == {"prod.txt": expected_lock}
    assert record["config_sha256"] == hashlib.sha256((run / "config.yaml").read_bytes()).hexdigest()
    assert record["seed"] == 7
    assert record["torch"] == str(__import__("torch").__version__)
    assert record["packages"]["lightning"]
    logged = yaml.safe_load((run / "hparams.yaml").read_text())["provenance"]
    assert logged["git_commit"] == record["git"]["commit"] and logged["git_dirty"] is True
    assert logged["seed"] == 7 and logged["locks_sha256"] == record["locks_sha256"]


def test_secret_files_and_url_passwords_stay_out_of_the_recorded_diff(in_tmp_dir: Path) -> None:
    (in_tmp_dir / "settings.py").write_text("DATABASE = 'sqlite://'\n")
    _git(in_tmp_dir, "init", "--quiet")
    _git(in_tmp_dir, "add", "--all")
    _git(in_tmp_dir, "commit", "--quiet", "-m", "start")
    # Mistakes a user makes: a staged .env with a key, a password in a tracked file's URL.
    (in_tmp_dir / ".env").write_text("WANDB_API_KEY=0123456789abcdef\n")
    (in_tmp_dir / "deploy.key").write_text("deploy-secret-4242\n")
    _git(in_tmp_dir, "add", ".env", "deploy.key")
    url = "postgresql://optuna:hunter2@db.example.com:5432/studies"
    (in_tmp_dir / "settings.py").write_text(f"DATABASE = '{url}'\n")

    cli = build(["fit", "--trainer.max_steps=2", *QUIET])
    run = Path(cli.trainer.log_dir or "")
    record = json.loads((run / "provenance.json").read_text())
    diff = (run / "git.diff").read_text()

    assert "+DATABASE = 'postgresql://optuna:***@db.example.com:5432/studies'" in diff
    assert "hunter2" not in diff and "0123456789abcdef" not in diff and "4242" not in diff
    assert record["git"]["secrets_left_out"] == [".env", "deploy.key"]
    assert "hunter2" not in (run / "provenance.json").read_text()
