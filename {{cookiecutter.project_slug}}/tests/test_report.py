"""`report`: one HTML page of a run, drawn from the run's own records, which it never changes.

The run is the session's fitted run, copied: six epochs of the tests' small project, then `test` of
its best checkpoint in the same process, so its logger files hold test metrics too.
"""

from __future__ import annotations

import base64
import io
import re
import shutil
from pathlib import Path

import matplotlib.image
import pytest
import torch
from conftest import FittedRun, Refused, tree

from {{ cookiecutter.package_name }}.infra.cli import main
from {{ cookiecutter.package_name }}.infra.records import history as run_history

PACKAGE = "{{ cookiecutter.package_name }}"
RUN = Path("runs") / PACKAGE / "version_0"
PAGE = Path("reports") / PACKAGE / "version_0" / "report.html"


def pictures(page: str) -> list[tuple[int, int]]:
    """The (height, width) of each PNG inside the page, decoded."""
    found = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    return [matplotlib.image.imread(io.BytesIO(base64.b64decode(data))).shape[:2] for data in found]


@pytest.fixture
def run_copy(fitted_run: FittedRun, in_tmp_dir: Path) -> Path:
    shutil.copytree(fitted_run.directory, in_tmp_dir / RUN)
    return in_tmp_dir / RUN


def test_the_history_is_what_the_trainer_logged(run_copy: Path, fitted_run: FittedRun) -> None:
    history = run_history.read(run_copy)
    last = fitted_run.epochs - 1
    for name in ("val/acc", "val/loss", "train/loss"):
        assert sorted(history[name]) == list(range(fitted_run.epochs)), name
    # The logger wrote float32 values; the trainer's last epoch is the history's last.
    assert history["val/acc"][last] == pytest.approx(fitted_run.final_metrics["val/acc"], abs=1e-6)
    assert history["train/loss"][last] == pytest.approx(
        fitted_run.final_metrics["train/loss_epoch"], abs=1e-6
    )
    tested = fitted_run.test_metrics["test/acc"]
    assert list(history["test/acc"].values()) == [pytest.approx(tested, abs=1e-6)]


def test_the_newest_run_gets_a_page_and_its_folder_is_untouched(
    run_copy: Path, fitted_run: FittedRun, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree(run_copy)
    main(["report"])
    assert capsys.readouterr().out == f"Report of {RUN}: {PAGE}\n"
    assert tree(run_copy) == before
    page = PAGE.read_text()
    headings = re.findall(r"<h[23]>([^<]+)</h[23]>", page)
    # The model's own figures (its report_figures) after the curves every run gets.
    assert headings == [
        "Learning curves",
        "Test metrics",
        "The model",
        "Accuracy per class (test split)",
        "Provenance",
    ]
    # Two real pictures: the curves (loss and acc side by side), the model's bar chart.
    curves, bars = pictures(page)
    assert curves[1] > 1.5 * curves[0] and min(bars) > 300
    accuracy = fitted_run.test_metrics["test/acc"]
    assert f"<th>test/acc</th><td><code>{accuracy:.4f}</code>" in page
    assert "<th>Epochs</th><td><code>6/6</code>" in page
    assert "<th>State</th><td><code>finished</code>" in page


def test_a_test_run_of_its_checkpoint_shows_beside_it(
    run_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (best,) = (run_copy / "checkpoints").glob("epoch*.ckpt")
    quiet = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]
    main(["test", f"--ckpt_path={best}", *quiet])
    capsys.readouterr()
    main(["report", str(run_copy)])
    page = PAGE.read_text()
    # Listed as under runs/; the fitted run's own test (in fit's process) as "this run".
    assert f"<p>{RUN.parent / 'version_1'}</p>" in page and "<p>this run</p>" in page


def test_refusals_write_nothing(in_tmp_dir: Path, refused: Refused) -> None:
    assert refused(["report"]) == (
        f"error: report: no run under runs/ yet: `python -m {PACKAGE} fit` makes one\n"
    )
    (in_tmp_dir / "elsewhere").mkdir()
    assert refused(["report", "elsewhere"]) == (
        "error: report elsewhere: not a run folder (it holds none of provenance.json, run.json, "
        f"run.lock); `python -m {PACKAGE} runs` lists the runs\n"
    )
    assert sorted(path.name for path in in_tmp_dir.iterdir()) == ["elsewhere"]


def test_a_page_inside_a_run_folder_is_refused(run_copy: Path, refused: Refused) -> None:
    before = tree(run_copy)
    inside = run_copy / "report.html"
    assert refused(["report", "--output", str(inside)]) == (
        f"error: report --output {inside}: inside the run folder {run_copy.resolve()}, which its "
        "own run alone writes; give a path outside the run folders (or leave --output out)\n"
    )
    assert tree(run_copy) == before and not Path("reports").exists()


# ---- damaged records: the readers name the damaged file and go on, or stop in one line ---------


def test_a_damaged_config_is_named_and_the_page_made_without_it(
    run_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (run_copy / "config.yaml").write_text("model: [cut short\n")
    before = tree(run_copy)
    main(["report", str(RUN)])
    captured = capsys.readouterr()
    assert captured.out == f"Report of {RUN}: {PAGE}\n"
    assert f"warning: {RUN / 'config.yaml'}, line 2: " in captured.err
    assert "names no data" in PAGE.read_text()
    assert tree(run_copy) == before


def test_a_truncated_checkpoint_is_one_line_and_no_page(run_copy: Path, refused: Refused) -> None:
    (best,) = (run_copy / "checkpoints").glob("epoch*.ckpt")
    best.write_bytes(best.read_bytes()[:1000])  # cut short, as by a full disk or a killed copy
    before = tree(run_copy)
    error = refused(["report", str(RUN)])
    assert error.count("\n") == 1
    damaged = RUN / "checkpoints" / best.name
    assert error.startswith(f"error: {damaged} cannot be read as a checkpoint")
    assert tree(run_copy) == before and not Path("reports").exists()


def test_output_that_is_a_folder_is_one_line_and_leaves_no_file(
    run_copy: Path, refused: Refused
) -> None:
    Path("pages").mkdir()
    error = refused(["report", str(RUN), "--output", "pages"])
    assert error == (
        "error: report --output pages is a folder: give a file, such as pages/report.html\n"
    )
    assert list(Path("pages").iterdir()) == [] and not Path("reports").exists()


def test_a_page_that_cannot_be_written_is_one_line_and_leaves_nothing(
    run_copy: Path, refused: Refused
) -> None:
    Path("blocker").write_text("a file where the page's folder would go\n")
    before = sorted(path.name for path in Path.cwd().iterdir())
    error = refused(["report", str(RUN), "--output", "blocker/report.html"])
    assert error.startswith("error: cannot write the page blocker/report.html (")
    assert error.endswith("); nothing was written\n")
    assert sorted(path.name for path in Path.cwd().iterdir()) == before


def test_a_checkpoint_of_a_class_since_renamed_is_one_line(
    run_copy: Path, refused: Refused
) -> None:
    (best,) = (run_copy / "checkpoints").glob("epoch*.ckpt")
    state = torch.load(best, weights_only=True)
    state["hyper_parameters"]["_class_path"] = "small_project.RenamedClassifier"
    torch.save(state, best)  # as the record of a run made before the class was renamed
    before = tree(run_copy)
    error = refused(["report", str(RUN)])
    assert error == (
        f"error: {RUN / 'checkpoints' / best.name} holds a small_project.RenamedClassifier, which "
        "this code no longer has: restore the class (or check out the commit the run recorded), "
        "or look at another run\n"
    )
    assert tree(run_copy) == before and not Path("reports").exists()
