"""Every option of every command, given values of the wrong type, out of range or malformed.

The options are read from the parsers themselves (argparse's for the project's own commands,
LightningCLI's for fit), and the bad values from each option's type, so a new option is covered
without a line here. Each case runs in a folder whose runs/ holds a run, and must end in one
`error:` line and exit 2, or, for fit, where a value is valid after all, finish its one-batch run
(`--trainer.fast_dev_run`, which writes nothing); never in a traceback, and runs/ keeps every byte.
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CONFIG_VARIABLE, SMALL_PROJECT, FittedRun, tree

from {{ cookiecutter.package_name }}.infra import cli
from {{ cookiecutter.package_name }}.infra.command_line import parser as command_parser
from {{ cookiecutter.package_name }}.infra.command_line.parser import CommandParser
from {{ cookiecutter.package_name }}.infra.machine import doctor, shared_gpus
from {{ cookiecutter.package_name }}.infra.records import report, table as runs_table
from {{ cookiecutter.package_name }}.infra.records.resume import flatten
from {{ cookiecutter.package_name }}.infra.tools import bench, sweep
from {{ cookiecutter.package_name }}.infra.training.lightning_cli import build

# The parser of each of the project's own commands (cli.COMMANDS); a test below checks that none
# is missing, so a new command must name its parser here to be run.
PARSERS: dict[str, Callable[[], CommandParser]] = {
    "bench": bench.parser,
    "doctor": doctor.parser,
    "presets": cli.presets_parser,
    "report": report.parser,
    "runs": runs_table.parser,
    "sweep": sweep.parser,
    "gpus": shared_gpus.parser,
}
# Bad values for an option, by what it takes.
NOT_A_NUMBER, FRACTION, NEGATIVE, NO_SUCH = "many", "2.5", "-3", "no-such-value"
# Settings of fit given as files or structures, tested elsewhere (test_faults_values, the presets'
# and config files' tests) rather than with single bad values.
STRUCTURED = ("config", "__default_config__", "optimizer", "lr_scheduler", "trainer.callbacks")


def bad_values(action: argparse.Action) -> Iterator[str]:
    """Values that `action` must refuse: of another type, out of range, or naming nothing."""
    if action.nargs == 0:  # a flag: it takes no value
        return
    if action.choices is not None:
        yield NO_SUCH
    elif action.type is int:
        yield from (NOT_A_NUMBER, FRACTION, NEGATIVE)
    elif action.type is float:
        yield from (NOT_A_NUMBER, NEGATIVE)
    elif action.type is command_parser.path:
        yield ""
        if not action.option_strings:  # a positional path names something that must be there
            yield "no/such/path"
    else:  # text: empty names nothing
        yield ""


def command_cases() -> Iterator[Any]:
    for command, make_parser in PARSERS.items():
        for action in make_parser()._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            name = action.option_strings[-1] if action.option_strings else None
            if name is not None and action.nargs != 0:
                # An option given last, without its value.
                yield pytest.param([command, name], id=f"{command} {name} (no value)")
            elif name is not None:
                yield pytest.param([command, f"{name}=yes"], id=f"{command} {name}=yes")
            for value in bad_values(action):
                given = [f"{name}={value}"] if name else [value]
                yield pytest.param([command, *given], id=f"{command} {' '.join(given)}")


@pytest.fixture
def runs(in_tmp_dir: Path, fitted_run: FittedRun) -> Path:
    """A project folder with what each command needs, so that only the bad value can be refused:
    runs/ holding a real run's records, which no case may change, and a sweep file of the small
    project's arguments."""
    run = in_tmp_dir / "runs" / "{{ cookiecutter.package_name }}" / "version_0"
    shutil.copytree(fitted_run.directory, run)
    space = {
        "method": "random",
        "metric": {"name": "val/acc", "goal": "maximize"},
        "parameters": {"model.hidden": {"values": [8, 16]}},
    }
    (in_tmp_dir / "sweeps").mkdir()
    (in_tmp_dir / sweep.DEFAULT_SPACE).write_text(yaml.safe_dump(space))
    return in_tmp_dir / "runs"


def test_every_command_of_the_project_names_its_parser_here() -> None:
    assert set(PARSERS) == set(cli.COMMANDS)


@pytest.mark.parametrize("args", list(command_cases()))
def test_a_bad_option_of_a_command_is_one_line(
    args: list[str], runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree(runs)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(args)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert tree(runs) == before


def fit_cases() -> Iterator[Any]:
    """Each setting of fit (the model's and data's arguments among them), with values of another
    type than its default's, out of range, or naming nothing."""
    # Collected before the session's fixtures run, in each worker at once: no logger is built (a
    # tracker's store would be made in the working folder); the defaults come from the parser.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CONFIG_VARIABLE, str(SMALL_PROJECT))
        parser = build(["--trainer.logger=false"], run=False).parser
        defaults = flatten(parser.get_defaults().as_dict())
    for key, default in defaults.items():
        if key.startswith(STRUCTURED) or key.endswith("class_path") or isinstance(default, list):
            continue
        if isinstance(default, bool):
            values = ["maybe"]
        elif isinstance(default, int):
            values = [NOT_A_NUMBER, FRACTION, NEGATIVE]
        elif isinstance(default, float):
            values = [NOT_A_NUMBER, NEGATIVE]
        else:  # text, or unset (None): a word it cannot mean, and a negative number
            values = [NO_SUCH, NEGATIVE]
        for value in values:
            yield pytest.param(f"--{key}={value}", id=f"--{key}={value}")


@pytest.mark.slow  # about 150 in-process runs of one batch
@pytest.mark.parametrize("option", list(fit_cases()))
def test_a_bad_value_of_any_setting_of_fit_is_one_line_or_runs(
    option: str, runs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree(runs)
    quiet = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]
    try:
        cli.main(["fit", "--trainer.fast_dev_run=true", *quiet, option])
    except SystemExit as exit_info:
        assert exit_info.code == 2
        lines = capsys.readouterr().err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert tree(runs) == before
    assert sorted(path.name for path in runs.parent.iterdir()) == ["runs", "sweeps"]
