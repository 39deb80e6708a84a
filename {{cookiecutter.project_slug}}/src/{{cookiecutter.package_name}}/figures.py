"""The example's figures for a run's report: the confusion matrix and the worst test predictions.

`report` shows whatever a model's `report_figures(data)` returns, beside the learning curves and
provenance that every model gets; `Classifier.report_figures` returns these two.
"""

from __future__ import annotations

import numpy as np
import torch
from lightning.pytorch import LightningDataModule, LightningModule
from matplotlib.figure import Figure
from sklearn.metrics import ConfusionMatrixDisplay


def test_predictions(
    model: LightningModule, data: LightningDataModule
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The test split's images, labels and the model's class probabilities for each, on the CPU."""
    data.setup("test")
    images, labels, probabilities = [], [], []
    with torch.inference_mode():
        for batch_images, batch_labels in data.test_dataloader():
            images.append(batch_images)
            labels.append(batch_labels)
            probabilities.append(model(batch_images.to(model.device)).softmax(dim=1).cpu())
    return torch.cat(images), torch.cat(labels), torch.cat(probabilities)


def confusion_matrix(labels: torch.Tensor, probabilities: torch.Tensor) -> Figure:
    """How often each digit was taken for each other one, on the test split."""
    figure = Figure(figsize=(5.5, 5))
    display = ConfusionMatrixDisplay.from_predictions(
        labels.numpy(), probabilities.argmax(dim=1).numpy(), ax=figure.subplots(), colorbar=False
    )
    display.ax_.set_title(f"Test accuracy {display.confusion_matrix.trace() / len(labels):.3f}")
    return figure


def worst_predictions(
    images: torch.Tensor, labels: torch.Tensor, probabilities: torch.Tensor, count: int = 16
) -> Figure:
    """The `count` test images whose true digit the model found least likely, with what it said."""
    truth = probabilities[torch.arange(len(labels)), labels]
    worst = truth.argsort()[:count].tolist()
    columns = 4
    rows = max(1, -(-len(worst) // columns))
    figure = Figure(figsize=(2 * columns, 2.2 * rows))
    axes = np.atleast_1d(figure.subplots(rows, columns)).ravel()
    for ax in axes:
        ax.set_axis_off()
    for ax, index in zip(axes, worst):
        said = int(probabilities[index].argmax())
        ax.imshow(images[index].squeeze(0).numpy(), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(
            f"is {int(labels[index])}, said {said}\n" f"p({said})={probabilities[index, said]:.2f}",
            fontsize=9,
            color="tab:red" if said != int(labels[index]) else "black",
        )
    figure.tight_layout()
    return figure


def classifier_figures(model: LightningModule, data: LightningDataModule) -> dict[str, Figure]:
    """The report's figures for a digit classifier, by title."""
    images, labels, probabilities = test_predictions(model, data)
    return {
        "Confusion matrix (test split)": confusion_matrix(labels, probabilities),
        "Worst test predictions": worst_predictions(images, labels, probabilities),
    }
