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
from nbclient.exceptions import CellExecutionError
from payload import planted_run, refusal_of

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


def executed(folder: Path, keep_examples: bool) -> tuple[str, int]:
    """Run the notebook from top to bottom in `folder`/notebooks (its ../runs is `folder`/runs),
    with or without its cells tagged `example`; return its printed text and how many pictures it
    drew. nbclient raises CellExecutionError on the first cell that fails."""
    (folder / "notebooks").mkdir()
    notebook = stored()
    if not keep_examples:
        notebook.cells = [
            cell for cell in notebook.cells if "example" not in cell.metadata.get("tags", [])
        ]
    resources = {"metadata": {"path": str(folder / "notebooks")}}
    NotebookClient(notebook, timeout=300, resources=resources).execute()
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    text = "".join(output.get("text", "") for output in outputs)
    pictures = [output for output in outputs if "image/png" in output.get("data", {})]
    return text, len(pictures)


@pytest.mark.slow
def test_it_runs_on_the_newest_run_of_any_model(fitted_run: FittedRun, in_tmp_dir: Path) -> None:
    shutil.copytree(fitted_run.directory, in_tmp_dir / RUN)
    text, pictures = executed(in_tmp_dir, keep_examples=False)
    assert f"../{RUN}\n" in text
    assert re.search(
        r"epoch\d{3}-val_acc0\.\d{4}\.ckpt: SmallClassifier on BlobsData\n", text
    ), text
    assert "Accuracy per class (test split)\n" in text
    # The curves and the model's own figure: drawn, not only computed.
    assert pictures == 2


@pytest.mark.slow
def test_it_refuses_a_planted_checkpoint_unopened(
    fitted_run: FittedRun, in_tmp_dir: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "payload-ran"
    best = planted_run(fitted_run.directory, in_tmp_dir / RUN, marker)
    with pytest.raises(CellExecutionError) as failed:
        executed(in_tmp_dir, keep_examples=False)
    # The notebook names the checkpoint relative to its own folder, notebooks/.
    assert refusal_of(Path("..") / RUN / "checkpoints" / best.name) in str(failed.value)
    assert not marker.exists(), "the payload ran"
