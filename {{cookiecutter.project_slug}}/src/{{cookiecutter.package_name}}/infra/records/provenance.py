"""What made a run: the code (git commit, dirty flag, diff), the data (its fingerprint, see
fingerprints.py), the environment (locks, packages, GPU), the configuration and the seed, and the
presets and arguments that set it apart from a plain run. Saved in the run directory and in the
logger's hyperparameters.
"""

from __future__ import annotations

import functools
import hashlib
import json
import platform
import subprocess
from importlib.metadata import distributions
from pathlib import Path
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import yaml
from lightning.pytorch import Callback, LightningModule, Trainer

from {{ cookiecutter.package_name }}.infra.command_line.credentials import masked
from {{ cookiecutter.package_name }}.infra.records import fingerprints
from {{ cookiecutter.package_name }}.infra.records import record as run_record
from {{ cookiecutter.package_name }}.infra.records.resume import flatten

# Where a run writes and whether it resumes, not what it trains: the logger (a sweep points each
# trial's at its own folder), Lightning's root folder and --resume are left out of the arguments.
WHERE_IT_WRITES = ("trainer.logger", "trainer.default_root_dir", "resume")


def _git(*args: str, cwd: Path) -> str | None:
    try:
        result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


# Files that hold secrets by convention: their changes never enter a run's recorded diff (their
# names do, under "secrets_left_out"), even when someone staged or committed them by mistake.
SECRET_FILES = (".env", ".env.*", ".envrc", "*.pem", "*.key", ".netrc", ".pgpass")
NOT_SECRETS = [f":(exclude,glob)**/{pattern}" for pattern in SECRET_FILES]


def git_state(directory: Path) -> dict[str, Any] | None:
    """Commit, dirty flag, diff against HEAD (secret files left out, URL passwords masked) and
    untracked files; None outside a git repository."""
    top = _git("rev-parse", "--show-toplevel", cwd=directory)
    commit = _git("rev-parse", "HEAD", cwd=directory)
    if top is None or commit is None:
        return None
    root = Path(top.strip())
    status = _git("status", "--porcelain", cwd=directory) or ""
    changed = (_git("diff", "HEAD", "--name-only", cwd=root) or "").splitlines()
    without_secrets = ["--", ".", *NOT_SECRETS]
    kept = (_git("diff", "HEAD", "--name-only", *without_secrets, cwd=root) or "").splitlines()
    diff = _git("diff", "HEAD", "--binary", *without_secrets, cwd=root) or ""
    return {
        "root": str(root),
        "commit": commit.strip(),
        "dirty": bool(status.strip()),
        "untracked": [line[3:] for line in status.splitlines() if line.startswith("??")],
        "diff": masked(diff),
        "secrets_left_out": sorted(set(changed) - set(kept)),
    }


def lock_hashes(project: Path) -> dict[str, str]:
    """sha256 of each lock in `project`/requirements, by file name."""
    return {
        lock.name: hashlib.sha256(lock.read_bytes()).hexdigest()
        for lock in sorted((project / "requirements").glob("*.txt"))
    }


@functools.cache
def installed_packages() -> dict[str, str]:
    """The version of every installed distribution, by lowercase name, as this process found them
    first: the versions of the modules it has imported (a later install takes a new process)."""
    # Read once per process, and each distribution's metadata once: parsing all of it takes 0.1 s.
    headers = (dist.metadata for dist in distributions())
    return {header["Name"].lower(): header["Version"] for header in headers}


def collect(seed: int | None, config: str, directory: Path) -> dict[str, Any]:
    """Everything that identifies a run started from `directory` with `config` and `seed`."""
    git = git_state(directory)
    locks = lock_hashes(Path(git["root"]) if git else directory)
    devices = [torch.cuda.get_device_name(index) for index in range(torch.cuda.device_count())]
    return {
        "git": git,
        "locks": locks,
        "locks_sha256": hashlib.sha256(json.dumps(locks, sort_keys=True).encode()).hexdigest(),
        "config_sha256": hashlib.sha256(config.encode()).hexdigest(),
        "seed": seed,
        "python": platform.python_version(),
        "torch": str(torch.__version__),  # a str subclass that YAML loggers cannot write
        "cuda": torch.version.cuda,
        "gpus": devices,
        "packages": dict(installed_packages()),
    }


def last_data(folder: Path) -> Any:
    """The `data` section of the newest provenance record in the run folder `folder`: what the run
    trained on last (a continuation may have been allowed to go on with other data)."""
    resumed = run_record.continuations(folder, "provenance")
    newest = resumed[-1][1] if resumed else folder / "provenance.json"
    try:
        return json.loads(newest.read_text()).get("data")
    except (OSError, ValueError, AttributeError):
        return None


def changed_arguments(config: str, plain: str) -> dict[str, Any]:
    """The settings of `config` that differ from `plain`, by dotted name (model.init_args.hidden).

    Both are configurations as dumped to config.yaml: a run's, and the one the same command gives
    with its presets and no other argument. So these are what its flags and --config files changed.
    """
    here, there = flatten(yaml.safe_load(config) or {}), flatten(yaml.safe_load(plain) or {})
    return {
        key: here.get(key)
        for key in sorted(set(here) | set(there))
        if here.get(key) != there.get(key) and not key.startswith(WHERE_IT_WRITES)
    }


def summary(record: dict[str, Any]) -> dict[str, Any]:
    """The few fields worth a column in an experiment tracker."""
    git = record["git"] or {}
    return {
        "git_commit": git.get("commit", "none (not in a git repository with a commit)"),
        "git_dirty": git.get("dirty"),
        "data": fingerprints.short((record.get("data") or {}).get("fingerprint")),
        "locks_sha256": record["locks_sha256"],
        "config_sha256": record["config_sha256"],
        "seed": record["seed"],
        "torch": record["torch"],
        "lightning": record["packages"].get("lightning"),
        "gpu": ", ".join(record["gpus"]) or "none",
    }


class RunProvenance(Callback):
    """Writes provenance.json (and git.diff when the tree is dirty) into the run directory.

    A run that continues (`--resume`, a requeued job) keeps the record of how it started, and adds
    provenance-resume-N.json for each continuation. `presets` and `arguments` (changed_arguments)
    say what set the run apart from a plain one. `data` is the data's fingerprint
    (fingerprints.of_data), which the training command reads before the data is set up.
    """

    data: dict[str, Any] | None = None

    def __init__(
        self,
        seed: int | None,
        config: str,
        continuing: bool = False,
        presets: Sequence[str] = (),
        arguments: Mapping[str, Any] | None = None,
    ) -> None:
        self.seed = seed
        self.config = config
        self.continuing = continuing
        self.presets = list(presets)
        self.arguments = dict(arguments or {})

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        run_directory = trainer.log_dir  # a collective call under DDP: every rank must make it
        if not trainer.is_global_zero or run_directory is None or not trainer.loggers:
            return
        record = collect(self.seed, self.config, Path.cwd())
        record["data"] = self.data or {
            "fingerprint": None,
            "how": "none: not read (a launch that skipped the training command's checks)",
        }
        if not self.continuing:  # a continuation runs what the run's own config.yaml says
            record.update(presets=self.presets, arguments=self.arguments)
        folder = Path(run_directory)
        folder.mkdir(parents=True, exist_ok=True)
        record_path = folder / "provenance.json"
        if self.continuing:
            record_path = run_record.next_continuation(folder, "provenance")
        suffix = record_path.stem.removeprefix("provenance")  # "-resume-N": its diff's name too
        git = record["git"]
        if git and git["diff"]:
            (folder / f"git{suffix}.diff").write_text(git["diff"])
            record["git"] = {**git, "diff": f"git{suffix}.diff"}  # the file beside this one
        record_path.write_text(json.dumps(record, indent=2))
        started = folder / "provenance.json"
        if self.continuing and started.is_file():
            record = json.loads(started.read_text())  # the run's columns say how it started
        for logger in trainer.loggers:
            logger.log_hyperparams({"provenance": summary(record)})
