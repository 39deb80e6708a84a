"""`--compile` (the compile preset): torch.compile whatever LightningModule trains.

It compiles the module's `forward`, which is what `self(batch)` runs in its steps: as Lightning's
own support for a compiled module does. nn.Module.compile compiles in place, so the parameters keep
their names, and a checkpoint of a compiled run loads into a plain module (and back).
"""

from __future__ import annotations

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.utilities.model_helpers import is_overridden

from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal


def check(model: LightningModule) -> None:
    """Refuse to compile a module without a forward: there would be nothing to compile."""
    if not is_overridden("forward", model, LightningModule):
        name = f"{type(model).__module__}.{type(model).__qualname__}"
        raise Refusal(
            f"compile=true (the compile preset) compiles the module's forward, and {name} has "
            "none: give it a forward and call self(...) in its steps, or drop --preset compile"
        )


class CompileModule(Callback):
    """Compile the module at setup, once: before the trainer moves it to its device. (The command
    has checked it with `check` before anything started.)

    Compiling is lazy: the first step traces the module on the device it runs on, and each of
    training and evaluation compiles its own graph on its first step.
    """

    def __init__(self) -> None:
        self.compiled: set[int] = set()

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if id(pl_module) in self.compiled:  # a second command of the same trainer (fit, then test)
            return
        pl_module.compile()
        self.compiled.add(id(pl_module))
