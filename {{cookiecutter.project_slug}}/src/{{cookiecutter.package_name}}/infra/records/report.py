"""`report [RUN]`: one self-contained HTML page of a run, to open in a browser, offline.

It shows
- the learning curves: every metric per epoch, training and validation on one plot, from the run's
  own metrics.csv or TensorBoard events (history.py), whatever the logger;
- the test metrics: the run's own, and those of each `test` run given one of its checkpoints;
- the model's own figures: a LightningModule with a `report_figures(data)` method, returning
  `{title: matplotlib Figure}`, gets them drawn from its best checkpoint and the run's data module
  (the example's: a confusion matrix and its worst test predictions, figures.py);
- the provenance: commit and dirty tree, presets, the arguments that differ from the defaults,
  versions and the locks' hashes.

The page goes to reports/<the run's path under runs/>/report.html, not into the run folder, which
its own run alone writes. Figures are PNGs inside the page, so it can be mailed or attached as it is.
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal
from {{ cookiecutter.package_name }}.infra.command_line.parser import CommandParser, PROG
from {{ cookiecutter.package_name }}.infra.records import (
    history as run_history,
    loading as run_loading,
    record as run_record,
    table as runs_table,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

REPORTS = Path("reports")
HOOK = "report_figures"  # the model's method that adds its own figures
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; } td, th { padding: 0.2em 1em 0.2em 0; text-align: left; }
th { color: #555; font-weight: normal; } img { max-width: 100%; } code { font-size: 0.95em; }
"""


def newest_run(root: Path) -> Path:
    """The run under `root` that started last (by its record, else by its folder's time)."""
    folders = runs_table.run_folders(root) if root.is_dir() else []
    if not folders:
        raise Refusal(f"report: no run under {root}/ yet: `{PROG} fit` makes one")

    def started(folder: Path) -> float:
        start, _ = run_record.read(folder)
        moment = runs_table.moment(start.get("started")) if start else None
        return moment.timestamp() if moment else folder.stat().st_mtime

    return max(folders, key=started)


def curves(history: run_history.History) -> Figure | None:
    """One plot per metric, its stages together (train/loss beside val/loss); None without any."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    groups: dict[str, list[str]] = {}
    for name in sorted(history):
        if not name.startswith("test/"):  # one value, not a curve: the test table shows it
            groups.setdefault(name.rpartition("/")[2], []).append(name)
    if not groups:
        return None
    figure = Figure(figsize=(5 * len(groups), 3.6), layout="constrained")
    for ax, (metric, names) in zip(
        figure.subplots(1, len(groups), squeeze=False)[0], groups.items()
    ):
        for name in names:
            epochs = sorted(history[name])
            ax.plot(epochs, [history[name][epoch] for epoch in epochs], marker="o", label=name)
        ax.set_title(metric)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    return figure


def test_metrics(folder: Path, root: Path) -> dict[str, dict[str, float]]:
    """test/* metrics by where they come from: the run itself, and each `test` run of its
    checkpoints under `root`."""
    found: dict[str, dict[str, float]] = {}
    here = folder.resolve()
    for other in runs_table.run_folders(root) if root.is_dir() else []:
        itself = other.resolve() == here
        given = run_loading.run_config(other).get("ckpt_path")
        tested_here = (
            isinstance(given, str) and Path(given).resolve().parent == here / "checkpoints"
        )
        if itself or tested_here:
            last = {
                name: values[max(values)]
                for name, values in run_history.read(other).items()
                if name.startswith("test/")
            }
            if last:
                found["this run" if itself else str(other)] = last
    return found


def model_figures(folder: Path) -> tuple[dict[str, Figure], str]:
    """The model's own figures from its best checkpoint, and a line on where they come from."""
    checkpoint = run_loading.best_checkpoint(folder)
    if checkpoint is None:
        return {}, "No checkpoint: the model's own figures need one."
    model = run_loading.load_model(checkpoint)
    hook = getattr(model, HOOK, None)
    if hook is None:
        return {}, (
            f"{type(model).__name__} has no {HOOK}(data) method: add one that returns "
            "{title: matplotlib Figure} to see its own figures here."
        )
    data = run_loading.load_data(folder)
    if data is None:
        return {}, f"The run's {run_loading.CONFIG} names no data: the model's figures need it."
    figures: dict[str, Figure] = hook(data)
    return figures, f"From {checkpoint}."


def picture(figure: Figure) -> str:
    """The figure as an <img> holding its PNG, so the page needs no other file."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="" src="data:image/png;base64,{encoded}">'


def rows(pairs: list[tuple[str, str]]) -> str:
    """A two-column table: a name, and its value as code."""
    cells = "".join(
        f"<tr><th>{html.escape(name)}</th><td><code>{html.escape(value)}</code></td></tr>"
        for name, value in pairs
    )
    return f"<table>{cells}</table>"


def provenance_rows(folder: Path) -> list[tuple[str, str]]:
    """What made the run and how it went, from run.json and provenance.json."""
    line = runs_table.row(folder)
    facts = dict(zip(runs_table.COLUMNS, line))
    provenance: dict[str, Any] = run_record.read_json(folder / runs_table.PROVENANCE) or {}
    git = provenance.get("git") if isinstance(provenance.get("git"), dict) else {}
    untracked = git.get("untracked") if isinstance(git, dict) else None
    pairs = [(column.capitalize(), facts[column]) for column in runs_table.COLUMNS[1:]]
    pairs.append(("Untracked files", ", ".join(map(str, untracked)) if untracked else "none"))
    data: dict[str, Any] = provenance["data"] if isinstance(provenance.get("data"), dict) else {}
    pairs.append(("Data fingerprint", str(data.get("fingerprint") or "none")))
    pairs.append(("Data fingerprint made by", str(data.get("how", "-"))))
    for key in ("seed", "python", "torch", "cuda", "gpus", "config_sha256"):
        pairs.append((key.replace("_", " ").capitalize(), str(provenance.get(key, "-"))))
    locks = provenance.get("locks")
    for name, digest in sorted(locks.items()) if isinstance(locks, dict) else []:
        pairs.append((f"Lock {name}", f"sha256 {str(digest)[:16]}"))
    return pairs


def page(folder: Path, root: Path) -> str:
    """The report of the run in `folder` as one HTML page."""
    sections = [f"<h1>Run {html.escape(str(folder))}</h1>"]
    figure = curves(run_history.read(folder))
    sections.append("<h2>Learning curves</h2>")
    sections.append(picture(figure) if figure else "<p>No metrics logged per epoch.</p>")
    tested = test_metrics(folder, root)
    if tested:
        sections.append("<h2>Test metrics</h2>")
        for source, metrics in tested.items():
            values = [(name, f"{value:.4f}") for name, value in sorted(metrics.items())]
            sections.append(f"<p>{html.escape(source)}</p>{rows(values)}")
    figures, origin = model_figures(folder)
    sections.append(f"<h2>The model</h2><p>{html.escape(origin)}</p>")
    for title, model_figure in figures.items():
        sections.append(f"<h3>{html.escape(title)}</h3>{picture(model_figure)}")
    sections.append(f"<h2>Provenance</h2>{rows(provenance_rows(folder))}")
    body = "\n".join(sections)
    title = html.escape(f"Report: {folder}")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def output_path(folder: Path, root: Path) -> Path:
    """reports/<name>/version_N/report.html for runs/<name>/version_N."""
    try:
        relative = folder.resolve().relative_to(root.resolve())
    except ValueError:  # a run kept elsewhere: named by its folder alone
        relative = Path(folder.resolve().name)
    return REPORTS / relative / "report.html"


def holds_run(folder: Path) -> bool:
    """Whether `folder` is a run's: it holds one of a run's records."""
    return any((folder / name).exists() for name in runs_table.RUN_FILES)


def write_whole(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file renamed over it: never half a page."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text)
        os.replace(partial, path)
    except OSError as error:
        with contextlib.suppress(OSError):  # gone, or its folder never made
            partial.unlink()
        raise Refusal(
            f"cannot write the page {path} ({error.strerror}); nothing was written"
        ) from None


def parser() -> CommandParser:
    parser = CommandParser(
        prog=f"{PROG} report",
        description="Write one HTML page of a run: learning curves, test metrics, the model's own "
        "figures and what made the run. Reads the run's records; writes only the page.",
    )
    parser.add_argument(
        "run", nargs="?", type=Path, help="a run's folder (default: the newest run under runs/)"
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="where to write the page (default: reports/<the run's path under runs/>/report.html)",
    )
    return parser


def main(args: list[str]) -> None:
    given = parser().parse_args(args)
    root = runs_table.runs_root()
    if given.run is None:
        folder = newest_run(root)
    elif given.run.is_dir() and holds_run(given.run):
        folder = given.run
    else:
        raise Refusal(
            f"report {given.run}: not a run folder (it holds none of "
            f"{', '.join(sorted(runs_table.RUN_FILES))}); `{PROG} runs` lists the runs"
        )
    path = given.output or output_path(folder, root)
    if path.is_dir():
        raise Refusal(
            f"report --output {path} is a folder: give a file, such as {path / 'report.html'}"
        )
    inside = next((part for part in path.resolve().parents if holds_run(part)), None)
    if inside is not None:
        raise Refusal(
            f"report --output {path}: inside the run folder {inside}, which its own run alone "
            "writes; give a path outside the run folders (or leave --output out)"
        )
    # Drawn off-screen: no window, and no display needed on a GPU box.
    import matplotlib

    matplotlib.use("Agg")
    write_whole(path, page(folder, root))
    print(f"Report of {folder}: {path}")
