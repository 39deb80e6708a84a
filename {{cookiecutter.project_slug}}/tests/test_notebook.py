"""The starter notebook runs from top to bottom on a real run, on the project's kernel, and is kept
in git without outputs (nbstripout strips them before each commit)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest
from conftest import FittedRun
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "explore_run.ipynb"
RUN = Path("runs") / "{{ cookiecutter.package_name }}" / "version_0"


def stored() -> nbformat.NotebookNode:
    """The notebook as git keeps it."""
    notebook: nbformat.NotebookNode = nbformat.read(  # type: ignore[no-untyped-call]
        NOTEBOOK, as_version=4
    )
    return notebook


def test_it_is_kept_without_outputs() -> None:
    notebook = stored()
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code)


@pytest.mark.slow
def test_it_runs_on_the_newest_run(fitted_run: FittedRun, in_tmp_dir: Path) -> None:
    shutil.copytree(fitted_run.directory, in_tmp_dir / RUN)
    (in_tmp_dir / "notebooks").mkdir()
    notebook = stored()
    # The kernel runs where the notebook would be, so ../runs is the copy; nbclient raises
    # CellExecutionError on the first cell that fails.
    NotebookClient(
        notebook, timeout=300, resources={"metadata": {"path": str(in_tmp_dir / "notebooks")}}
    ).execute()
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    text = "".join(output.get("text", "") for output in outputs)
    assert f"../{RUN}\n" in text
    accuracy = re.search(r"test accuracy (\d\.\d{3}) on (\d+) images", text)
    assert accuracy is not None, text
    assert float(accuracy.group(1)) == pytest.approx(fitted_run.test_metrics["test/acc"], abs=1e-3)
    # The curves, the grid of predictions, the confusion matrix: drawn, not only computed.
    pictures = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(pictures) == 3
