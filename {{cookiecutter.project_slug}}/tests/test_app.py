"""The applet (app.py), run headless by Streamlit's AppTest on a real run: the digit it shows, the
model's prediction and each class's probability are those of the run's best checkpoint."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import streamlit as st
import torch
from conftest import CONFIG_VARIABLE, FittedRun, fitted
from payload import planted_run, refusal_of
from streamlit.testing.v1 import AppTest

from {{ cookiecutter.package_name }}.infra.command_line.parser import PROG
from {{ cookiecutter.package_name }}.infra.records import loading as run_loading

APP = Path(__file__).parents[1] / "src" / "{{ cookiecutter.package_name }}" / "app.py"
RUN = Path("runs") / "{{ cookiecutter.package_name }}" / "version_0"
DIGITS = Path(__file__).with_name("digits.yaml")


@pytest.fixture(scope="session")
def fitted_digits(tmp_path_factory: pytest.TempPathFactory) -> FittedRun:
    """The digits example fitted once for the session (test_digits.py shares it)."""
    return fitted(tmp_path_factory, "fitted-digits", DIGITS)


@pytest.fixture(autouse=True)
def digits_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    # The example as a bake with the examples names it in config.yaml, whatever config.yaml says now.
    monkeypatch.setenv(CONFIG_VARIABLE, str(DIGITS))


@pytest.fixture(autouse=True)
def main_module_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    # AppTest runs the app as __main__ and leaves it there; a process that a later test spawns
    # (multiprocessing) would start by running the app.
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])


def test_it_says_how_to_make_a_run_when_there_is_none_of_the_classifier(in_tmp_dir: Path) -> None:
    # A run of the regression example is not one to offer: its model takes no digits.
    other = in_tmp_dir / RUN
    (other / "checkpoints").mkdir(parents=True)
    (other / "checkpoints" / "epoch009-val_loss0.5000.ckpt").touch()
    model = "{{ cookiecutter.package_name }}.regressor.Regressor"
    (other / "config.yaml").write_text(f"model:\n  class_path: {model}\n")
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not app.exception
    assert [info.value for info in app.info] == [
        f"No trained run of the digit classifier under runs/ yet: `{PROG} fit` makes one."
    ]


def test_it_shows_the_best_checkpoints_prediction(
    fitted_digits: FittedRun, in_tmp_dir: Path
) -> None:
    shutil.copytree(fitted_digits.directory, in_tmp_dir / RUN)
    checkpoint = run_loading.best_checkpoint(RUN)
    assert checkpoint is not None
    model = run_loading.load_model(checkpoint)
    data = run_loading.load_data(RUN)
    assert data is not None
    data.setup("test")
    images, labels = next(iter(data.test_dataloader()))

    app = AppTest.from_file(str(APP), default_timeout=120).run()
    assert not app.exception
    assert [box.value for box in app.selectbox] == [RUN]
    for index in (0, 7):
        app.slider[0].set_value(index).run()
        with torch.inference_mode():
            expected = model(images[index : index + 1]).softmax(dim=1)[0]
        shown = app.dataframe[0].value
        assert shown["digit"].tolist() == list(range(10))
        assert shown["probability"].tolist() == pytest.approx(expected.tolist(), abs=1e-6)
        assert app.metric[0].value == str(int(expected.argmax()))
        label = int(labels[index])
        assert app.markdown[0].value.startswith(f"True digit: {label}")

    # A drawing: an empty grid is still an input the model answers.
    app.radio[0].set_value("drawn").run()
    assert not app.exception
    assert (
        app.dataframe[-1].value["probability"].sum()
    )  # [0]: the grid drawn on == pytest.approx(1, abs=1e-5)


def test_it_shows_why_it_refuses_a_planted_checkpoint_and_never_opens_it(
    fitted_digits: FittedRun, in_tmp_dir: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "payload-ran"
    best = planted_run(fitted_digits.directory, in_tmp_dir / RUN, marker)
    st.cache_resource.clear()  # the applet caches a run's model by its path, the same as above
    app = AppTest.from_file(str(APP), default_timeout=120).run()
    assert not app.exception
    (error,) = app.error
    assert error.value.startswith(refusal_of(RUN / "checkpoints" / best.name))
    assert not marker.exists(), "the payload ran"
