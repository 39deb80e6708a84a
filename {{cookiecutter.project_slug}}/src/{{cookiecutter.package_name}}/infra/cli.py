"""The command line: LightningCLI's fit/validate/test/predict, and the project's own commands.

python -m {{ cookiecutter.package_name }} fit --preset gpu --preset bf16 --trainer.max_epochs 20
python -m {{ cookiecutter.package_name }} fit --print_config   # the merged configuration
python -m {{ cookiecutter.package_name }} presets              # what each preset does
python -m {{ cookiecutter.package_name }} doctor               # this machine, packages, presets
python -m {{ cookiecutter.package_name }} sweep --trials 20    # an Optuna sweep (tools/sweep.py)
python -m {{ cookiecutter.package_name }} runs                 # every run in runs/, one line each
python -m {{ cookiecutter.package_name }} report               # the newest run's page in reports/
python -m {{ cookiecutter.package_name }} gpus                 # this box's GPUs, and whose runs hold them

torch and Lightning are imported by the commands that use them, not here: `runs`, `presets` and
`--help` only read files, and answer in a fraction of a second.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from {{ cookiecutter.package_name }}.infra.command_line import presets
from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal, reported
from {{ cookiecutter.package_name }}.infra.command_line.parser import (
    CommandParser,
    PROG,
    SUBCOMMANDS,
)
from {{ cookiecutter.package_name }}.infra.machine import shared_gpus
from {{ cookiecutter.package_name }}.infra.records import table as runs_table
from {{ cookiecutter.package_name }}.infra.training import quiet

# One line on screen when a command's start-up is slow, instead of a silent terminal: the first
# command after an install reads torch and Lightning from a cold disk and compiles their bytecode,
# a minute or more on a busy machine. A start that is quick says nothing.
NOTICE_AFTER_SECONDS = 5.0


@contextmanager
def notice_if_slow(doing: str, after: float = NOTICE_AFTER_SECONDS) -> Iterator[None]:
    """Print `doing` to stderr if the block is still running `after` seconds in (rank 0 only)."""
    if os.environ.get("LOCAL_RANK", "0") != "0":
        yield
        return
    timer = threading.Timer(after, lambda: print(doing, file=sys.stderr, flush=True))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def presets_parser() -> CommandParser:
    return CommandParser(
        prog=f"{PROG} presets",
        description="List the presets, each with what it sets; give them to a command as "
        "--preset NAME (repeat to combine them).",
    )


def print_presets(args: list[str]) -> None:
    """`presets`: each preset's name and one-line description."""
    presets_parser().parse_args(args)
    for name, description in presets.available().items():
        print(f"{name:10} {description}")


def run_lightning(args: list[str]) -> None:
    """fit, validate, test or predict: LightningCLI with the project's settings
    (training/lightning_cli.py)."""
    with notice_if_slow(
        "Loading torch and Lightning (the first start after an install reads and compiles them: "
        "up to a minute or two)..."
    ):
        import torch

        from {{ cookiecutter.package_name }}.infra.training.lightning_cli import build

    build(args)
    # Under torchrun or srun the process group outlives fit; left to the interpreter's exit, its
    # gloo threads can abort the process (seen as SIGABRT in the torchrun test).
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def run_bench(args: list[str]) -> None:
    """`bench`: training throughput against a plain PyTorch loop (tools/bench.py)."""
    from {{ cookiecutter.package_name }}.infra.tools import bench

    bench.main(args)


def run_doctor(args: list[str]) -> None:
    """`doctor`: this machine, the packages against the locks, the presets that run
    (machine/doctor.py)."""
    from {{ cookiecutter.package_name }}.infra.machine import doctor

    doctor.main(args)


def run_report(args: list[str]) -> None:
    """`report`: one HTML page of a run, its curves, figures and provenance (records/report.py)."""
    from {{ cookiecutter.package_name }}.infra.records import report

    report.main(args)


def run_sweep(args: list[str]) -> None:
    """`sweep`: an Optuna study over the arguments of `fit` (tools/sweep.py)."""
    # Imported here: it imports Optuna, which the other commands do without.
    from {{ cookiecutter.package_name }}.infra.tools import sweep

    sweep.main(args)


# The project's own commands, beside LightningCLI's fit/validate/test/predict, with their summaries.
COMMANDS: dict[str, tuple[Callable[[list[str]], None], str]] = {
    "presets": (print_presets, "list the presets and what each one sets"),
    "bench": (run_bench, "training throughput of this project's loop against a plain loop"),
    "doctor": (run_doctor, "this machine, the packages against the locks, presets that run here"),
    "sweep": (run_sweep, "an Optuna hyperparameter sweep over the arguments of fit"),
    "runs": (runs_table.main, "every run in runs/: state, commit, presets, arguments, best metric"),
    "report": (run_report, "one HTML page of a run: learning curves, figures, provenance"),
    "gpus": (shared_gpus.main, "this box's GPUs: memory, use, and which runs hold them"),
}
LIGHTNING_COMMANDS = {
    "fit": "train (--resume auto continues the latest run)",
    "validate": "run the validation set (--ckpt_path FILE, or untrained)",
    "test": "run the test set (--ckpt_path FILE, or untrained)",
    "predict": "save predictions.pt for the predict set (--ckpt_path FILE, or untrained)",
}


def usage() -> str:
    """The top-level help: every command, and the options that every command of Lightning takes."""
    width = max(map(len, [*LIGHTNING_COMMANDS, *COMMANDS]))
    rows = [*LIGHTNING_COMMANDS.items(), *((name, text) for name, (_, text) in COMMANDS.items())]
    commands = "\n".join(f"  {name:{width}}  {text}" for name, text in rows)
    return (
        f"usage: {PROG} COMMAND [--preset NAME ...] [options]\n\n"
        f"commands:\n{commands}\n\n"
        "options of fit, validate, test and predict (and of bench and sweep, for their runs):\n"
        "  --preset NAME      a preset from `presets` (repeat to combine: --preset gpu --preset bf16)\n"
        "  --config FILE      a YAML config file; files merge in order, flags after them win\n"
        "  --print_config     print the merged configuration and exit\n"
        "  --model CLASS      the LightningModule to train (default in config.yaml)\n"
        "  --data CLASS       the LightningDataModule to train on (default in config.yaml)\n\n"
        f"`{PROG} COMMAND --help` lists the options of a command.\n"
    )


def main(args: list[str] | None = None) -> None:
    """Entry point of `python -m {{ cookiecutter.package_name }}` and the console script."""
    argv = sys.argv[1:] if args is None else args
    if not argv:
        print(usage(), end="", file=sys.stderr)
        raise SystemExit(2)  # a command is required: the status argparse gives a missing one
    if argv[0] in ("-h", "--help"):
        print(usage(), end="")
        return
    quiet.install()
    with reported():
        if argv[0] in COMMANDS:
            COMMANDS[argv[0]][0](argv[1:])
            return
        if argv[0] not in SUBCOMMANDS and not argv[0].startswith("-"):
            commands = ", ".join([*SUBCOMMANDS, *COMMANDS])
            raise Refusal(f"unknown command {argv[0]!r}; commands: {commands} (--help says more)")
        run_lightning(argv)
