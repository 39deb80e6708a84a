"""Try a trained digit classifier in the browser: pick a run and a digit, see what the model says.

    streamlit run src/{{ cookiecutter.package_name }}/app.py

from the project's folder, where runs/ is; it serves on http://localhost:8501 (on a GPU box, forward
that port: docs/remote-development.md). The model is the run's best checkpoint and the digits are
its test split, both rebuilt from the run's records. Tick pixels on the grid to draw a digit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st
import torch
from lightning.pytorch import LightningDataModule, LightningModule

from {{ cookiecutter.package_name }}.data import IMAGE_SHAPE
from {{ cookiecutter.package_name }}.infra import (
    PROG,
    Refusal,
    best_checkpoint,
    load_data,
    load_model,
    run_config,
    run_folders,
    runs_root,
)
from {{ cookiecutter.package_name }}.module import Classifier

RUNS = runs_root()
CLASSIFIER = f"{Classifier.__module__}.{Classifier.__qualname__}"


@st.cache_resource
def load(run: Path) -> tuple[LightningModule, torch.Tensor, torch.Tensor]:
    """The run's best model, and its test split's images and labels."""
    checkpoint = best_checkpoint(run)
    assert checkpoint is not None  # the runs offered all have one
    model = load_model(checkpoint)
    data: LightningDataModule | None = load_data(run)
    assert data is not None
    data.setup("test")
    images, labels = zip(*data.test_dataloader())
    return model, torch.cat(images), torch.cat(labels)


def probabilities(model: LightningModule, image: torch.Tensor) -> torch.Tensor:
    """The model's probability of each digit for one image."""
    with torch.inference_mode():
        logits: torch.Tensor = model(image.unsqueeze(0).to(model.device))
    return logits.softmax(dim=1)[0].cpu()


def trained_classifiers() -> list[Path]:
    """The runs that trained this example's classifier (not the regression example) and kept a
    checkpoint."""
    return [
        run
        for run in run_folders(RUNS)
        if run_config(run).get("model", {}).get("class_path") == CLASSIFIER and best_checkpoint(run)
    ]


st.title("Digit classifier")
trained = trained_classifiers()
if not trained:
    st.info(f"No trained run of the digit classifier under {RUNS}/ yet: `{PROG} fit` makes one.")
    st.stop()
run = st.selectbox("Run", trained, index=len(trained) - 1, format_func=str)
try:
    model, images, labels = load(run)
except Refusal as refusal:  # a checkpoint that is not plain data, say: shown, never opened
    st.error(str(refusal))
    st.stop()

source = st.radio("Digit", ["from the test split", "drawn"], horizontal=True)
if source == "drawn":
    # The 8×8 grid of the digits data; a ticked pixel is full ink.
    pixels = st.data_editor(np.zeros(IMAGE_SHAPE[1:], dtype=bool), key="drawing")
    image = torch.tensor(np.asarray(pixels, dtype=np.float32)).reshape(IMAGE_SHAPE)
    label = None
else:
    index = st.slider("Test image", 0, len(labels) - 1, 0)
    image, label = images[index], int(labels[index])

probability = probabilities(model, image)
predicted = int(probability.argmax())
left, right = st.columns(2)
left.image(1 - image.squeeze(0).numpy(), width=200, clamp=True, caption="the model's input")
right.metric("Prediction", predicted, help="the digit with the highest probability")
if label is not None:
    right.write(f"True digit: {label}" + ("" if label == predicted else " (wrong)"))
table = {"digit": list(range(len(probability))), "probability": probability.tolist()}
st.bar_chart(table, x="digit", y="probability")
st.dataframe(table, hide_index=True)
