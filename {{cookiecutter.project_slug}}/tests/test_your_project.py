"""Your classes keep the template's guarantees. These tests run on whatever config.yaml names (the
examples, until you name your own) and check what every model and data module here must do: fit a
batch, save a checkpoint that reloads to the same predictions, get a report page, resume a killed
run to the weights of one never killed, and train on two DDP processes as on one.

With no model or data named in config.yaml yet, they skip and say what to add. The multi-process
ones are slow (`nox -s tests -- --slow`, as CI runs them).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from conftest import CONFIG_VARIABLE, killed_fit, tree
from ddp_fit import fit_and_save
from lightning.pytorch import LightningDataModule

from {{ cookiecutter.package_name }}.infra.cli import main
from {{ cookiecutter.package_name }}.infra.command_line import presets
from {{ cookiecutter.package_name }}.infra.machine import doctor
from {{ cookiecutter.package_name }}.infra.records import fingerprints, loading as run_loading
from {{ cookiecutter.package_name }}.infra.tools import sweep
from {{ cookiecutter.package_name }}.infra.training.lightning_cli import build

PACKAGE = "{{ cookiecutter.package_name }}"
SOURCE = Path(__file__).resolve().parents[1] / "src"
CONFIG = SOURCE / PACKAGE / "config.yaml"
SWEEP = SOURCE.parent / "sweeps" / "wandb.yaml"
RUN = Path("runs") / PACKAGE / "version_0"
QUIET = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]
# A few batches of a few epochs: enough to change the weights, short for any data set.
SHORT = [
    "--trainer.max_epochs=3",
    "--trainer.limit_train_batches=3",
    "--trainer.limit_val_batches=2",
    *QUIET,
]
# The same seed, data order and optimizer state: a resumed run repeats the uninterrupted one, but
# for float noise.
RESUME_TOLERANCE = 1e-6
# Gradients summed over two processes instead of one batch add floats in another order.
DDP_TOLERANCE = 1e-4


@pytest.fixture(autouse=True)
def your_settings(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """config.yaml itself (not the tests' small project); skip while it names no model or data."""
    monkeypatch.delenv(CONFIG_VARIABLE)
    config = yaml.safe_load(CONFIG.read_text()) or {}
    missing = [
        section
        for section in ("model", "data")
        if not (isinstance(config.get(section), dict) and config[section].get("class_path"))
    ]
    if missing:
        pytest.skip(
            f"config.yaml names no {' and no '.join(missing)} yet: put your LightningModule's "
            "class path under model.class_path and your LightningDataModule's under "
            f"data.class_path in src/{PACKAGE}/config.yaml"
        )
    settings: dict[str, Any] = config
    return settings


def weights(checkpoint: Path) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = run_loading.load_checkpoint(checkpoint)["state_dict"]
    return state


def has_own(data: LightningDataModule, method: str) -> bool:
    """Whether the data module defines `method` itself (Lightning's own raises)."""
    return getattr(type(data), method) is not getattr(LightningDataModule, method)


def test_config_names_your_classes_not_the_templates(your_settings: dict[str, Any]) -> None:
    modules = {
        path.relative_to(SOURCE).with_suffix("").as_posix().replace("/", ".")
        for path in SOURCE.rglob("*.py")
    }
    for section in ("model", "data"):
        module = your_settings[section]["class_path"].rpartition(".")[0]
        assert module in modules and not module.startswith(f"{PACKAGE}.infra"), module


def test_one_batch_trains_and_validates_and_writes_nothing(in_tmp_dir: Path) -> None:
    cli = build(["fit", "--preset", "debug", *QUIET])
    assert cli.trainer.global_step == 1
    assert cli.trainer.sanity_checking is False and cli.trainer.state.finished
    assert list(in_tmp_dir.iterdir()) == []


def test_your_data_has_a_fingerprint_that_runs_record(in_tmp_dir: Path) -> None:
    """The same data, the same fingerprint, read before setup, as a run's provenance records it."""
    cli = build(["fit", *SHORT])
    recorded = json.loads((RUN / "provenance.json").read_text())["data"]
    if recorded["fingerprint"] is None:
        pytest.skip(
            f"{recorded['how']}: give your data module a `data_fingerprint` method, so that each "
            "run's provenance says which data made it and a resume on changed data is refused"
        )
    arguments = cli.config.fit.data.init_args.as_dict()
    fresh = type(cli.datamodule)(**arguments)  # not set up: as a run reads it
    assert fingerprints.of_data(fresh) == recorded


def test_a_checkpoint_reloads_to_the_same_predictions(
    in_tmp_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli = build(["fit", *SHORT])
    last = RUN / "checkpoints" / "last.ckpt"
    # What `report`, the notebook and `predict` load: the same weights, bit for bit.
    reloaded = run_loading.load_model(last)
    for name, value in cli.model.state_dict().items():
        assert torch.equal(reloaded.state_dict()[name].cpu(), value.cpu()), name
    if not has_own(cli.datamodule, "predict_dataloader"):
        pytest.skip("your data module has no predict_dataloader: `predict` has nothing to predict")
    expected = cli.trainer.predict(cli.model, datamodule=cli.datamodule)
    main(["predict", f"--ckpt_path={last}", *QUIET])
    saved = torch.load(RUN.parent / "version_1" / "predictions.pt", weights_only=True)
    assert len(saved["predictions"]) == len(expected or [])
    for batch, (got, want) in enumerate(zip(saved["predictions"], expected or [])):
        assert torch.equal(torch.as_tensor(got), torch.as_tensor(want)), f"batch {batch}"
    capsys.readouterr()


def test_test_evaluates_a_checkpoint_in_a_run_of_its_own(in_tmp_dir: Path) -> None:
    fitted = build(["fit", *SHORT])
    if not has_own(fitted.datamodule, "test_dataloader"):
        pytest.skip("your data module has no test_dataloader: `test` has nothing to evaluate")
    last = RUN / "checkpoints" / "last.ckpt"
    tested = build(["test", f"--ckpt_path={last}", *QUIET])
    assert tested.trainer.state.finished and tested.trainer.log_dir == str(RUN.parent / "version_1")
    # The checkpoint's weights, not the model's initial ones.
    for name, value in tested.model.state_dict().items():
        assert torch.equal(value.cpu(), fitted.model.state_dict()[name].cpu()), name


def chooses_classes(preset: str) -> bool:
    """Whether a preset names a model or data class itself (as an example's preset does)."""
    settings = yaml.safe_load(presets.path(preset).read_text()) or {}
    sections = [settings.get(section) for section in ("model", "data")]
    return any(isinstance(section, dict) and "class_path" in section for section in sections)


def takes_gpus(preset: str) -> bool:
    """Whether a preset takes GPUs of a shared box for its process (--gpus.count, the shared one)."""
    settings = yaml.safe_load(presets.path(preset).read_text()) or {}
    gpus = settings.get("gpus")
    return isinstance(gpus, dict) and bool(gpus.get("count"))


@pytest.mark.parametrize(
    "preset", [name for name in presets.available() if not chooses_classes(name)]
)
def test_each_preset_trains_your_classes_or_says_why_not_here(
    in_tmp_dir: Path, preset: str
) -> None:
    problem = doctor.preset_problem([preset])  # what this machine lacks for it, as fit says
    if problem is not None:
        pytest.skip(f"{preset} does not run on this machine: {problem}")
    if takes_gpus(preset):
        # It chooses the GPUs before CUDA starts and holds them for its process's life: a fit of
        # its own, which stops rather than waits when colleagues hold every GPU.
        command = [sys.executable, "-m", PACKAGE, "fit", "--preset", preset]
        command += ["--gpus.when_busy", "stop", *SHORT, "--trainer.max_steps=2"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        if result.returncode == 2 and "free GPU(s) on this box" in result.stderr:
            pytest.skip(f"{preset}: every GPU of this box is busy ({result.stderr.strip()})")
        assert result.returncode == 0, result.stderr[-3000:]
        assert json.loads((RUN / "run.json").read_text())["state"] == "finished"
        return
    cli = build(["fit", "--preset", preset, *SHORT, "--trainer.max_steps=2"])
    assert cli.trainer.global_step >= 1 and cli.trainer.state.finished


def test_its_run_gets_a_report_page_and_its_records_stay_as_they_were(
    in_tmp_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build(["fit", *SHORT])
    before = tree(RUN)
    main(["report", str(RUN)])
    page = Path("reports") / PACKAGE / "version_0" / "report.html"
    assert capsys.readouterr().out.endswith(f"Report of {RUN}: {page}\n")
    text = page.read_text()
    assert "<h2>Learning curves</h2>" in text and "<h2>Provenance</h2>" in text
    assert tree(RUN) == before


def test_the_sweep_file_names_arguments_of_your_classes() -> None:
    document = yaml.safe_load(SWEEP.read_text())
    if not document.get("parameters"):
        pytest.skip("sweeps/wandb.yaml has no search space yet: name your arguments there")
    space = sweep.load_space(SWEEP)
    config = sweep.check_arguments(space, ["--trainer.devices=1"])
    for name in space.parameters:
        section, _, key = name.partition(".")
        # model and data are classes chosen in the configuration: their arguments are init_args.
        arguments = (
            config[section].get("init_args", {})
            if section in ("model", "data")
            else config[section]
        )
        assert key in arguments, f"{name} is not in fit's configuration"
    # The fixed arguments of the command that `wandb agent` runs parse too.
    command = document["command"]
    fixed = command[command.index("fit") + 1 : command.index("${args}")]
    assert sweep.fit_config(fixed)["trainer"]["logger"]["class_path"].endswith("WandbLogger")


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_weights_of_one_never_killed(
    in_tmp_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (in_tmp_dir / "whole").mkdir()
    (in_tmp_dir / "killed").mkdir()
    monkeypatch.chdir(in_tmp_dir / "whole")
    build(["fit", *SHORT])
    killed_fit(in_tmp_dir / "killed", 2, SHORT)  # after two epochs' checkpoints
    monkeypatch.chdir(in_tmp_dir / "killed")
    # The run's config.yaml names the callback that killed it; resumed without it, as after a crash.
    build(["fit", "--resume", "auto", "--trainer.callbacks=[]", *SHORT])
    resumed = weights(RUN / "checkpoints" / "last.ckpt")
    whole = weights(in_tmp_dir / "whole" / RUN / "checkpoints" / "last.ckpt")
    assert resumed.keys() == whole.keys()
    for name, value in resumed.items():
        assert torch.allclose(value, whole[name], atol=RESUME_TOLERANCE), name


@pytest.mark.slow
def test_two_ddp_processes_train_as_one(in_tmp_dir: Path) -> None:
    helper = Path(__file__).with_name("ddp_fit.py")
    runs = {"yours": ["--trainer.max_epochs=2", "--trainer.limit_train_batches=4"]}
    command = [sys.executable, str(helper), "2", str(in_tmp_dir), json.dumps(runs)]
    subprocess.run(command, cwd=in_tmp_dir, check=True, timeout=600)
    ranks = [torch.load(in_tmp_dir / "yours" / f"rank{rank}.pt") for rank in (0, 1)]
    # Every process ends with the same weights and the same synced metrics.
    for name, value in ranks[0]["weights"].items():
        assert torch.equal(value, ranks[1]["weights"][name]), name
    data = build(["--trainer.logger=false"], run=False).datamodule
    if not isinstance(getattr(data, "global_batch_size", None), int):
        pytest.skip(
            "your data module's batches are per process (it has no global_batch_size), so two "
            "processes train on twice the batch of one; GlobalBatchSampler makes them equal"
        )
    fit_and_save(1, in_tmp_dir / "single", runs["yours"])
    single = torch.load(in_tmp_dir / "single" / "rank0.pt")
    for name, value in single["weights"].items():
        assert torch.allclose(ranks[0]["weights"][name], value, atol=DDP_TOLERANCE), name
