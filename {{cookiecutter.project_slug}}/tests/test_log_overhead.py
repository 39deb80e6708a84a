"""The fix for `self.log`'s per-step cost: needless moves skipped, every logged value still right."""

from __future__ import annotations

import pytest
import torch
from lightning.pytorch.trainer.connectors.logger_connector import result
from lightning.pytorch.trainer.connectors.logger_connector.result import _ResultCollection

from {{ cookiecutter.package_name }}.infra.training import lightning_fixes


@pytest.fixture(autouse=True)
def installed() -> None:
    lightning_fixes.skip_needless_moves()


def logged(values: list[float], batch_sizes: list[int]) -> _ResultCollection:
    """A training step's collection after `self.log("loss", ...)` of each value, on the CPU."""
    results = _ResultCollection(training=True)
    for value, batch_size in zip(values, batch_sizes, strict=True):
        results.log(
            "training_step",
            "loss",
            torch.tensor(value),
            on_step=True,
            on_epoch=True,
            batch_size=batch_size,
        )
    return results


def test_a_metric_already_on_the_device_is_not_walked(monkeypatch: pytest.MonkeyPatch) -> None:
    metric = logged([1.0], [4])["training_step.loss"]

    def walk(*args: object, **kwargs: object) -> None:
        raise AssertionError("the metric was walked although it is on the device already")

    monkeypatch.setattr(result, "apply_to_collection", walk)
    assert metric.to(torch.device("cpu")) is metric


def test_any_other_move_still_takes_lightnings_path() -> None:
    metric = logged([1.0], [4])["training_step.loss"]
    metric.to(torch.float64)
    assert metric.value.dtype == torch.float64
    assert metric.cumulated_batch_size.dtype == torch.float64


def test_the_epoch_mean_is_weighted_by_batch_size_as_before() -> None:
    results = logged([1.0, 2.0, 4.0], [10, 10, 5])
    metric = results["training_step.loss"]
    assert metric.compute().item() == pytest.approx((10 + 20 + 20) / 25)
    assert metric._forward_cache.item() == 4.0  # the step value: the last one logged


def test_installing_twice_wraps_once() -> None:
    lightning_fixes.skip_needless_moves()
    move = result._ResultMetric.to
    lightning_fixes.skip_needless_moves()
    assert result._ResultMetric.to is move
