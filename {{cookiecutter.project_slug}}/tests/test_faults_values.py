"""Fault cases of bad values: each is refused in one line, with a non-zero exit, and writes nothing.

Every case runs in a folder whose runs/ already holds a run, and checks that not a byte under runs/
changed and nothing was added (no run folder, no half-written file). The commands run in this
process where a subprocess would add nothing; those that need their own mount namespace (a
read-only or full runs/) or another program (nox) run as subprocesses.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from importlib.metadata import distributions
from pathlib import Path

import optuna
import pytest
import torch
import yaml
from conftest import CONFIG_VARIABLE, SMALL_PROJECT, write_locks
from jsonargparse import Namespace

from {{ cookiecutter.package_name }}.infra.cli import main
from {{ cookiecutter.package_name }}.infra.command_line import presets
from {{ cookiecutter.package_name }}.infra.machine import cluster
from {{ cookiecutter.package_name }}.infra.tools import sweep
from {{ cookiecutter.package_name }}.infra.training.lightning_cli import build

PROJECT = Path(__file__).resolve().parents[1]
PROG = "python -m {{ cookiecutter.package_name }}"
FIT_HELP = f"(`{PROG} fit --help` lists the options and their types)"
CKPT_HINT = "give a checkpoint of a run (runs/<name>/version_N/checkpoints/*.ckpt)"


# The stores of the wandb and mlflow trackers: written by the tracker whenever its logger starts,
# beside the run folders (the known gap listed in docs/faults.md).
TRACKER_STORES = {"wandb", "mlflow.db", "mlartifacts"}


def tree(folder: Path) -> dict[str, str]:
    """Every file and folder under `folder` (the trackers' stores aside), with the SHA-256 of each
    file's bytes."""
    return {
        str(path.relative_to(folder)): (
            hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"
        )
        for path in sorted(folder.rglob("*"))
        if not TRACKER_STORES & set(path.relative_to(folder).parts)
    }


@pytest.fixture
def runs(in_tmp_dir: Path) -> Path:
    """A runs/ folder holding an earlier run, which no refused command may touch."""
    run = in_tmp_dir / "runs" / "{{ cookiecutter.package_name }}" / "version_0"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text("trainer:\n  max_epochs: 3\n")
    torch.save({"state_dict": {}, "loops": {}}, run / "checkpoints" / "last.ckpt")
    return in_tmp_dir / "runs"


def refusal(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the command line in this process; expect exit status 2 and return its one stderr line."""
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


BAD_VALUES = [
    (
        ["fit", "--data.batch_size", "0"],
        "data.batch_size: Not of type PositiveInt: 0 does not conform to restriction v>0 "
        + FIT_HELP,
    ),
    (
        ["fit", "--data.batch_size=-64"],
        "data.batch_size: Not of type PositiveInt: -64 does not conform to restriction v>0 "
        + FIT_HELP,
    ),
    (
        ["fit", "--data.seed=-1"],
        "data.seed: Not of type NonNegativeInt: -1 does not conform to restriction v>=0 "
        + FIT_HELP,
    ),
    (
        ["fit", "--model.hidden", "0"],
        "model.hidden: Not of type PositiveInt: 0 does not conform to restriction v>0 " + FIT_HELP,
    ),
    (["fit", "--trainer.devices", "0"], "trainer.devices=0: give 1 or more, or -1 or auto for all"),
    (
        ["fit", "--trainer.max_epochs=-5"],
        "trainer.max_epochs=-5: give 1 or more epochs, or -1 for no limit",
    ),
    # A password in any setting would be saved in the run's config.yaml; the message leaves it out.
    (
        ["fit", "--trainer.default_root_dir", "s3://me:hunter2@store.example.com/runs"],
        "trainer.default_root_dir holds a URL with a password, which the run's config.yaml would "
        "record: give the URL without it, and the credentials where its tool reads them (for "
        "MLflow: MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN)",
    ),
    # Three processes on the CPU cannot share the global batch of 16: refused by the first
    # process before it starts the others, so one line instead of a traceback from each.
    (
        ["fit", "--trainer.accelerator", "cpu", "--trainer.devices", "3"],
        "data.batch_size=16 is not divisible by the 3 processes: choose a multiple of 3",
    ),
]


@pytest.mark.parametrize(("args", "message"), BAD_VALUES, ids=[" ".join(a) for a, _ in BAD_VALUES])
def test_a_bad_value_of_the_model_data_or_trainer_is_one_line(
    args: list[str], message: str, runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree(runs)
    assert refusal(args, capsys) == f"error: {message}"
    assert tree(runs) == before


# Values Lightning itself refuses where it uses them: as the classes are built, as the run starts,
# or at the end of the first validation (a metric never logged). Each is one line (what refused,
# Lightning's own reason), and the run folder made for the command is gone.
LIGHTNINGS_REFUSALS = [
    (["--checkpoint.mode", "maximum"], "ModelCheckpoint: `mode` can be min, max but got maximum"),
    (
        ["--checkpoint.save_top_k", "-5"],
        "ModelCheckpoint: Invalid value for save_top_k=-5. Must be >= -1",
    ),
    (["--trainer.strategy", "bogus"], "Trainer: You selected an invalid strategy name"),
    (
        ["--trainer.gradient_clip_algorithm", "bogus"],
        "Trainer: `gradient_clip_algorithm` bogus is invalid. Allowed algorithms",
    ),
    (["--seed_everything=-3"], "seed_everything: -3 is not in bounds"),
    (
        ["--trainer.limit_train_batches", "0"],
        "trainer.limit_train_batches=0 trains on no batch: give a fraction above 0, or a number "
        "of batches (1 or more)",
    ),
    (
        ["--trainer.limit_train_batches", "0.0001"],
        "trainer.limit_train_batches=0.0001 is less than one of the",
    ),
    (
        ["--checkpoint.monitor", "val/never_logged", "--trainer.max_epochs=1"],
        "`ModelCheckpoint(monitor='val/never_logged')` could not find the monitored key",
    ),
]


@pytest.mark.parametrize(
    ("args", "start"), LIGHTNINGS_REFUSALS, ids=[" ".join(a) for a, _ in LIGHTNINGS_REFUSALS]
)
def test_what_lightning_refuses_is_one_line_and_leaves_nothing(
    args: list[str], start: str, runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree(runs)
    quiet = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]
    assert refusal(["fit", *quiet, *args], capsys).startswith(f"error: {start}")
    assert tree(runs) == before


# A launcher's variables in a shell where no launcher started the command: left over, copied
# without their companions, or not numbers. Each is one line, before anything is written. Every
# number a launcher sets is tried (cluster.LAUNCHER_NUMBERS), so a variable added there is too.
LAUNCHER_VARIABLES = [
    (
        {"RANK": "1"},
        "RANK=1 is set, but no launcher started this process (WORLD_SIZE and MASTER_PORT are "
        "unset): unset RANK in this shell, or start the run with torchrun or srun",
    ),
    (
        {"LOCAL_RANK": "1"},
        "LOCAL_RANK=1 is set, but no launcher started this process (WORLD_SIZE and MASTER_PORT "
        "are unset): unset LOCAL_RANK in this shell, or start the run with torchrun or srun",
    ),
    (
        {"TORCHELASTIC_RUN_ID": "none"},
        "TORCHELASTIC_RUN_ID is set but WORLD_SIZE and LOCAL_WORLD_SIZE not: torchrun's "
        "variables without torchrun; unset TORCHELASTIC_RUN_ID, or start the run with torchrun",
    ),
    *(
        (
            {name: value},
            f"{name}={value!r} is not a whole number, as a launcher would set it: unset {name} in "
            "this shell, or start the run from its launcher (torchrun, srun)",
        )
        for name in cluster.LAUNCHER_NUMBERS
        for value in ("", "two")
    ),
]


@pytest.mark.parametrize(
    ("variables", "message"),
    LAUNCHER_VARIABLES,
    ids=[" ".join(f"{k}={v}" for k, v in c.items()) for c, _ in LAUNCHER_VARIABLES],
)
def test_stray_or_broken_launcher_variables_are_one_line(
    variables: dict[str, str],
    message: str,
    runs: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    before = tree(runs)
    assert refusal(["fit"], capsys) == f"error: {message}"
    assert tree(runs) == before


def alias_bomb() -> bytes:
    """Nine levels of nine aliases each: a few lines that expand to 9**9 strings."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 9):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 9)}]")
    return "\n".join([*lines, "trainer:", "  max_epochs: *a8", ""]).encode()


SETTINGS_HINT = (
    "not settings: write them as sections of names and values (trainer:, then max_epochs: 10 "
    "indented below it), as the presets do"
)
# Files a user writes by hand (config.yaml, presets, --config files), broken as hand-written files
# are, and the line each gets.
BROKEN_FILES = {
    "empty": (b"", "{path} holds nothing, " + SETTINGS_HINT),
    "not UTF-8": (
        b"\xff\xfe trainer:",
        "{path} is not UTF-8 text (byte 0xff at offset 0): save it as UTF-8",
    ),
    "a list": (b"- trainer\n- model\n", "{path} holds a list, " + SETTINGS_HINT),
    "a number": (b"5\n", "{path} holds a number, " + SETTINGS_HINT),
    "invalid YAML": (
        b"trainer: [max_epochs: 1\n",
        "{path}, line 2: while parsing a flow sequence expected ',' or ']', but got "
        "'<stream end>': fix the YAML there",
    ),
    "an alias bomb": (
        alias_bomb(),
        "{path}, line 2: an alias (*name), which settings files do not take: write the value "
        "out: fix the YAML there",
    ),
}
ENTRY_POINTS = ["--config", "--preset", "presets", "config.yaml"]


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("broken", list(BROKEN_FILES))
def test_a_broken_settings_file_is_one_line_wherever_it_is_read(
    broken: str,
    entry: str,
    runs: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    content, message = BROKEN_FILES[broken]
    if entry == "config.yaml" and broken == "empty":
        pytest.skip("config.yaml may hold comments alone: the defaults then apply")
    folder = runs.parent / "mine"
    folder.mkdir()
    path = folder / "broken.yaml"
    path.write_bytes(content)
    monkeypatch.setattr(presets, "PRESET_DIRS", (*presets.PRESET_DIRS, folder))
    if entry == "config.yaml":
        monkeypatch.setenv(CONFIG_VARIABLE, str(path))
    args = {
        "--config": ["fit", "--config", str(path)],
        "--preset": ["fit", "--preset", "broken"],
        "presets": ["presets"],
        "config.yaml": ["fit"],
    }[entry]
    before = tree(runs)
    assert refusal(args, capsys) == "error: " + message.format(path=path)
    assert tree(runs) == before


def sections() -> list[str]:
    """The sections of settings of fit's parser (trainer, checkpoint, model, data, ...)."""
    # Collected before the session's fixtures run, in each worker at once: no logger is built (a
    # tracker's store would be made in the working folder); the defaults come from the parser.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CONFIG_VARIABLE, str(SMALL_PROJECT))
        defaults = vars(build(["--trainer.logger=false"], run=False).parser.get_defaults())
    return [name for name, default in defaults.items() if isinstance(default, Namespace)]


@pytest.mark.parametrize("section", sections())
def test_a_section_given_a_number_is_one_line(
    section: str, runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = runs.parent / "numbers.yaml"
    path.write_text(f"{section}: 5\n")
    before = tree(runs)
    assert refusal(["fit", "--config", str(path)], capsys).startswith(f"error: {section}: ")
    assert tree(runs) == before


def test_only_the_first_process_of_a_launch_prints_the_refusal(
    runs: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Under torchrun or srun every process parses the same command line; the others stay quiet.
    for name, value in {"RANK": "1", "LOCAL_RANK": "1", "WORLD_SIZE": "2"}.items():
        monkeypatch.setenv(name, value)
    before = tree(runs)
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--trainer.max_epochs=-5"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == ""
    assert tree(runs) == before


def test_test_with_a_missing_checkpoint_is_one_line(
    runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree(runs)
    message = refusal(["test", "--ckpt_path", "runs/nothere.ckpt"], capsys)
    assert message == f"error: test --ckpt_path runs/nothere.ckpt: no such file; {CKPT_HINT}"
    assert tree(runs) == before


def test_test_with_a_file_that_is_not_a_checkpoint_is_one_line(
    runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = runs / "{{ cookiecutter.package_name }}" / "version_0" / "config.yaml"
    before = tree(runs)
    message = refusal(["test", "--ckpt_path", str(notes.relative_to(runs.parent))], capsys)
    assert message == (
        f"error: test --ckpt_path {notes.relative_to(runs.parent)} is not a checkpoint "
        f"(torch cannot load it); {CKPT_HINT}"
    )
    assert tree(runs) == before


def in_own_mount_namespace(setup: str, command: list[str], cwd: Path) -> tuple[list[str], str]:
    """Run `setup` (mounts), then `command`, as root of a user and mount namespace of their own.

    Root bypasses file permissions, so a read-only or full folder is made the way it happens to
    anyone: a read-only mount, a full file system. Returns the lines of standard output (the
    command's, then `exit N` and the files under runs/ as the command left them) and the errors.
    """
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux) to mount a read-only or full folder")
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"user namespaces are not allowed here: {probe.stderr.strip()}")
    script = f'{setup}\n"$@"\necho "exit $?"\nfind runs -type f | sort'
    result = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, "sh", *command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(PROJECT / "src"), os.environ["PYTHONPATH"]]),
        },
    )
    return result.stdout.splitlines(), result.stderr


def error_lines(stderr: str) -> list[str]:
    """The refusal among what a command wrote to stderr (Lightning's notices go there too)."""
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.startswith("error:")]


FIT = [sys.executable, "-m", "{{ cookiecutter.package_name }}", "fit", "--trainer.max_epochs=1"]
WRITE_HINT = (
    "make it writable, free space there, or log elsewhere with "
    "--trainer.logger.init_args.save_dir DIR"
)


@pytest.mark.slow  # a process of its own, in its own mount namespace
def test_a_read_only_runs_folder_is_named_with_the_fix(runs: Path) -> None:
    before = tree(runs)
    output, errors = in_own_mount_namespace(
        "mount --bind runs runs && mount -o remount,bind,ro runs", FIT, runs.parent
    )
    assert error_lines(errors) == [
        f"error: cannot write in {runs} (Read-only file system): {WRITE_HINT}"
    ]
    assert "exit 2" in output
    assert tree(runs) == before


@pytest.mark.slow  # a process of its own, in its own mount namespace
def test_a_full_disk_at_the_start_is_named_with_the_fix(runs: Path) -> None:
    # A 64 KiB file system, filled: the check's probe write meets ENOSPC before any run folder.
    output, errors = in_own_mount_namespace(
        "mount -t tmpfs -o size=64k tmpfs runs && dd if=/dev/zero of=runs/fill bs=4k 2>/dev/null",
        FIT,
        runs.parent,
    )
    assert error_lines(errors) == [
        f"error: cannot write in {runs} (No space left on device): {WRITE_HINT}"
    ]
    assert output[output.index("exit 2") + 1 :] == ["runs/fill"]  # nothing but the filler


def space_file(folder: Path, goal: str = "maximize", hidden: tuple[int, ...] = (8, 16)) -> Path:
    path = folder / f"space-{goal}-{len(hidden)}.yaml"
    document = {
        "name": "faults",
        "method": "random",
        "metric": {"name": "val/acc", "goal": goal},
        "parameters": {"model.hidden": {"values": list(hidden)}},
    }
    path.write_text(yaml.safe_dump(document))
    return path


def test_a_malformed_sweep_file_is_one_line(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("space.yaml").write_text("name: broken\nparameters: [model.hidden\n")
    before = tree(runs)
    message = refusal(["sweep", "--space", "space.yaml"], capsys)
    assert message == (
        "error: space.yaml is not a YAML sweep file (line 3): expected ',' or ']', but got "
        "'<stream end>'; sweeps/wandb.yaml shows the form"
    )
    assert tree(runs) == before


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


STORAGE_CASES = [
    (
        "db-host/sweeps",
        "storage db-host/sweeps is not a database URL: give sqlite:///FILE or "
        "postgresql+psycopg://USER@HOST/DATABASE",
    ),
    (
        "postgresql+psycopg://sweeper@127.0.0.1:{port}/sweeps",
        "cannot open the study database postgresql+psycopg://sweeper@127.0.0.1:{port}/sweeps "
        '(connection failed: connection to server at "127.0.0.1", port {port} failed: '
        "Connection refused): check its host, port, user and password, and that it is running",
    ),
]


@pytest.mark.parametrize(("storage", "message"), STORAGE_CASES, ids=["bogus", "unreachable"])
def test_a_bogus_or_unreachable_storage_is_one_line_in_seconds(
    storage: str, message: str, runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()  # nothing listens there
    space = space_file(runs.parent)
    before = tree(runs)
    started = time.monotonic()
    line = refusal(["sweep", "--space", str(space), "--storage", storage.format(port=port)], capsys)
    assert time.monotonic() - started < 10  # no retries with back-off
    assert line == f"error: {message.format(port=port)}"
    assert tree(runs) == before


def test_a_password_on_the_command_line_is_refused_and_not_repeated(
    runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    space = space_file(runs.parent)
    storage = "postgresql+psycopg://sweeper:hunter2@db-host/sweeps"
    before = tree(runs)
    message = refusal(["sweep", "--space", str(space), "--storage", storage], capsys)
    assert message == (
        "error: --storage postgresql+psycopg://sweeper:***@db-host/sweeps holds a password, "
        "which `ps` and job records would show: give the URL in SWEEP_STORAGE, or the password "
        "in ~/.pgpass (chmod 600)"
    )
    assert tree(runs) == before


# The sweep's storage uses Optuna's heartbeats, which Optuna calls experimental.
without_experimental_warnings = pytest.mark.filterwarnings(
    "ignore::optuna.exceptions.ExperimentalWarning"
)


@without_experimental_warnings
@pytest.mark.parametrize(
    ("changed", "message"),
    [
        (
            {"hidden": (8, 32)},
            'was made with model.hidden={"values": [8, 16]}, this sweep has '
            'model.hidden={"values": [8, 32]}: name a new study with --study NAME, or '
            "restore the sweep file",
        ),
        (
            {"goal": "minimize"},
            "was made to maximize, this sweep would minimize: name a new study with --study "
            "NAME, or restore metric.goal",
        ),
    ],
    ids=["space", "goal"],
)
def test_joining_a_study_with_another_search_is_one_line(
    changed: dict[str, object], message: str, runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    storage = f"sqlite:///{runs.parent / 'study.db'}"
    made = sweep.load_space(space_file(runs.parent))
    sweep.make_study(made, ("val/acc", "maximize"), storage, "faults", 1, 0)
    before = tree(runs)
    other = space_file(runs.parent, **changed)  # type: ignore[arg-type]
    line = refusal(["sweep", "--space", str(other), "--storage", storage, "--trials", "1"], capsys)
    assert line == f"error: study 'faults' in {storage} {message}"
    assert tree(runs) == before
    study = optuna.load_study(study_name="faults", storage=storage)
    assert study.trials == []  # no trial ran


@without_experimental_warnings
@pytest.mark.parametrize("planted", ["../../escaped", "..", "/tmp/elsewhere"])
def test_a_trial_folder_leading_out_of_the_sweeps_folder_is_one_line(
    planted: str, runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A shared storage is written by others: the trial folder it names is checked, not followed."""
    storage = f"sqlite:///{runs.parent / 'study.db'}"
    space = space_file(runs.parent)
    study = sweep.make_study(
        sweep.load_space(space), ("val/acc", "maximize"), storage, "faults", 1, 0
    )
    study.set_user_attr(sweep.FOLDER_ATTRIBUTE, planted)
    before = tree(runs)
    line = refusal(["sweep", "--space", str(space), "--storage", storage, "--trials", "1"], capsys)
    assert line == (
        f"error: study 'faults' names its trial folder {planted!r}, which is not a folder name "
        "under runs/sweeps: its storage was changed by hand; name a new study with --study NAME"
    )
    assert tree(runs) == before
    assert optuna.load_study(study_name="faults", storage=storage).trials == []


@without_experimental_warnings
def test_studies_of_one_name_in_two_databases_never_share_trial_folders(in_tmp_dir: Path) -> None:
    space = sweep.load_space(space_file(in_tmp_dir))
    folders = set()
    for database in ("first.db", "second.db"):
        storage = f"sqlite:///{in_tmp_dir / database}"
        study = sweep.make_study(space, ("val/acc", "maximize"), storage, "faults", 1, 0)
        folders.add(sweep.study_folder(study))
        # A worker joining the study later writes into the same folder.
        joined = sweep.make_study(space, ("val/acc", "maximize"), storage, "faults", 1, 1)
        assert sweep.study_folder(joined) == sweep.study_folder(study)
    assert len(folders) == 2
    assert all(folder.parent == sweep.SWEEP_ROOT for folder in folders)


def test_doctor_refuses_a_pin_that_is_no_version(
    runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    requirements = write_locks(runs.parent / "requirements", {"numpy": "2.4.x"})
    before = tree(runs)
    message = refusal(["doctor", "--requirements", str(requirements)], capsys)
    assert message == (
        f"error: {requirements / 'dev.txt'}:1: numpy==2.4.x pins no valid version: "
        "run `nox -s lock` to recompile it"
    )
    assert capsys.readouterr().out == ""  # no half report
    assert tree(runs) == before


def test_doctor_refuses_a_lock_that_is_not_utf8(
    runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    requirements = write_locks(runs.parent / "requirements", {"numpy": "2.4.6"})
    lock = requirements / "dev.txt"
    offset = len(lock.read_bytes())
    lock.write_bytes(lock.read_bytes() + b"# caf\xe9\n")
    message = refusal(["doctor", "--requirements", str(requirements)], capsys)
    assert message == (
        f"error: {lock} is not UTF-8 text (byte 0xe9 at offset {offset + 5}): "
        "run `nox -s lock` to recompile it"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--steps", "0"], "bench --steps 0: give 1 or more"),
        (["--warmup=-1"], "bench --warmup -1: give 0 or more"),
        (["--repeats", "0"], "bench --repeats 0: give 1 or more"),
        (["--device", "gpu0"], "bench --device gpu0 is not a device: use cpu, cuda or cuda:N"),
    ],
    ids=["steps", "warmup", "repeats", "device"],
)
def test_bench_refuses_bad_values_in_one_line(
    args: list[str], message: str, runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree(runs)
    assert refusal(["bench", "--device", "cpu", *args], capsys) == f"error: {message}"
    assert tree(runs) == before


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without a CUDA GPU")
def test_bench_on_cuda_without_a_gpu_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert refusal(["bench", "--device", "cuda"], capsys) == (
        "error: bench --device cuda but no CUDA GPU is visible (torch.cuda.is_available() is "
        "False): run on a GPU machine, or use --device cpu"
    )


def installed() -> list[str]:
    return sorted(f"{dist.metadata['Name']}=={dist.version}" for dist in distributions())


def test_sync_refuses_two_targets_before_touching_the_environment() -> None:
    nox = shutil.which("nox", path=str(Path(sys.executable).parent))
    if nox is None:
        pytest.skip("nox is not installed beside this Python (it is in the dev lock)")
    before = installed()
    result = subprocess.run(
        [nox, "-f", str(PROJECT / "noxfile.py"), "-s", "sync", "--", "cpu", "gpu", "--dry-run"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "VIRTUAL_ENV": sys.prefix},
    )
    assert result.returncode == 1
    aborted = [line for line in result.stderr.splitlines() if "aborted" in line]
    assert aborted == [
        "nox > Session sync aborted: unexpected arguments 'cpu gpu --dry-run': give "
        "`-- [gpu | cpu | macos] [--dry-run] [--system-python]`."
    ]
    assert installed() == before
