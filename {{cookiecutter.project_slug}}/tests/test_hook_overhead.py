"""The hook-name fix (in `infra/training/lightning_fixes.py`): the name is stored, and nothing
else changes."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from torch import nn

from {{ cookiecutter.package_name }}.infra.training import lightning_fixes, quiet
from small_project import SmallClassifier


@pytest.fixture(autouse=True)
def installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LightningModule, "__setattr__", nn.Module.__setattr__)
    lightning_fixes.store_hook_names_directly()


def test_the_hook_name_is_stored_as_a_plain_attribute() -> None:
    module = SmallClassifier()
    module._current_fx_name = "training_step"
    assert vars(module)["_current_fx_name"] == "training_step"
    module._current_fx_name = None
    assert module._current_fx_name is None


def test_parameters_submodules_and_buffers_still_register() -> None:
    module = SmallClassifier()
    module.extra = nn.Linear(2, 2)
    module.scale = nn.Parameter(torch.ones(1))
    module.register_buffer("count", torch.zeros(1))
    module.count = torch.ones(1)  # assigning to a buffer's name replaces the buffer
    assert "extra" in module._modules and "scale" in module._parameters
    assert torch.equal(module.get_buffer("count"), torch.ones(1))
    assert {"extra.weight", "extra.bias", "scale", "count"} <= set(module.state_dict())


class HookNames(Callback):
    """Records the module's hook name as each step's callback hooks see it."""

    def __init__(self) -> None:
        self.seen: list[str | None] = []

    def on_before_backward(
        self, trainer: Trainer, pl_module: LightningModule, loss: torch.Tensor
    ) -> None:
        self.seen.append(pl_module._current_fx_name)

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self.seen.append(pl_module._current_fx_name)


def test_hooks_still_see_their_own_name_and_it_is_cleared_after_fit() -> None:
    quiet.install()  # as the project's commands run
    names = HookNames()
    module = SmallClassifier()
    data = torch.utils.data.TensorDataset(torch.rand(8, 4), torch.randint(0, 3, (8,)))
    trainer = Trainer(
        accelerator="cpu",
        max_steps=2,
        logger=False,
        callbacks=[names],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    loader = torch.utils.data.DataLoader(data, batch_size=4)
    trainer.fit(module, loader, loader)
    assert names.seen == ["on_before_backward", "on_train_batch_end"] * 2
    assert module._current_fx_name is None
