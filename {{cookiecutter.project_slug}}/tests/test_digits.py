"""The digits example reaches the accuracy the README promises, and its report page and notebook
cells show its own figures. An example's tests: `nox -s drop_examples` removes them with it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import FittedRun, fitted
from test_notebook import executed
from test_report import pictures

from {{ cookiecutter.package_name }}.infra.cli import main

PACKAGE = "{{ cookiecutter.package_name }}"
DIGITS = Path(__file__).with_name("digits.yaml")
RUN = Path("runs") / PACKAGE / "version_0"
PAGE = Path("reports") / PACKAGE / "version_0" / "report.html"
# The accuracy the README promises for `fit` with the defaults, reached on CPU in seconds.
DOCUMENTED_TEST_ACCURACY = 0.95


@pytest.fixture(scope="session")
def fitted_digits(tmp_path_factory: pytest.TempPathFactory) -> FittedRun:
    return fitted(tmp_path_factory, "fitted-digits", DIGITS)


def test_fit_reaches_the_documented_test_accuracy(fitted_digits: FittedRun) -> None:
    assert fitted_digits.epochs == 6
    assert fitted_digits.test_metrics["test/acc"] >= DOCUMENTED_TEST_ACCURACY


def test_its_report_shows_the_confusion_matrix_and_worst_predictions(
    fitted_digits: FittedRun, in_tmp_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(fitted_digits.directory, in_tmp_dir / RUN)
    main(["report"])
    assert capsys.readouterr().out == f"Report of {RUN}: {PAGE}\n"
    page = PAGE.read_text()
    headings = re.findall(r"<h[23]>([^<]+)</h[23]>", page)
    assert headings == [
        "Learning curves",
        "Test metrics",
        "The model",
        "Confusion matrix (test split)",
        "Worst test predictions",
        "Provenance",
    ]
    # Three real pictures: the curves (loss and acc side by side), the matrix, a grid of 16.
    curves, matrix, worst = pictures(page)
    assert curves[1] > 1.5 * curves[0] and min(matrix) > 300 and min(worst) > 300


@pytest.mark.slow
def test_its_notebook_cells_run_on_its_run(fitted_digits: FittedRun, in_tmp_dir: Path) -> None:
    shutil.copytree(fitted_digits.directory, in_tmp_dir / RUN)
    text, images = executed(in_tmp_dir, keep_examples=True)
    accuracy = re.search(r"test accuracy (\d\.\d{3}) on (\d+) images", text)
    assert accuracy is not None, text
    tested = fitted_digits.test_metrics["test/acc"]
    assert float(accuracy.group(1)) == pytest.approx(tested, abs=1e-3)
    # The curves, the confusion matrix, the worst predictions, the grid of predictions.
    assert images == 4
