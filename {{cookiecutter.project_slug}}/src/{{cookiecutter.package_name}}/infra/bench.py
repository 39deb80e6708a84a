"""`bench`: steady-state training throughput of this project's Lightning loop against a plain loop.

Both loops train the same network from the same initial weights, with the same optimizer, over the
same data path (`data.batched_loader`), in the same process. The Lightning loop runs as users run
it: the project's logger on and the progress bar showing a live loss. Only the steps after a
warm-up are timed, with one device synchronisation at each end of the window.

    python -m {{ cookiecutter.package_name }} bench      # every workload and setting
    python -m {{ cookiecutter.package_name }} bench --workloads gpt --settings bf16 compile
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import torch
import torch.nn.functional as F
import yaml
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.loggers import Logger
from torch import nn
from torch.utils.data import DataLoader, RandomSampler, TensorDataset

from {{ cookiecutter.package_name }}.data import DigitsDataModule, EpochBatchSampler, batched_loader
from {{ cookiecutter.package_name }}.model import ConvNet
from {{ cookiecutter.package_name }}.progress import LiveLossProgressBar

Batch = tuple[torch.Tensor, torch.Tensor]
LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
# Lightning precision and whether the network is compiled, per setting name.
SETTINGS: dict[str, tuple[str, bool]] = {
    "fp32": ("32-true", False),
    "bf16": ("bf16-mixed", False),
    "fp16": ("16-mixed", False),
    "compile": ("bf16-mixed", True),
}
AUTOCAST_DTYPES = {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}


class TinyGPT(nn.Module):
    """A decoder-only transformer (pre-norm, causal attention): the transformer reference."""

    def __init__(self, vocab: int, context: int, width: int, depth: int, heads: int) -> None:
        super().__init__()
        self.tokens = nn.Embedding(vocab, width)
        self.positions = nn.Embedding(context, width)
        layer = nn.TransformerEncoderLayer(
            width,
            heads,
            4 * width,
            dropout=0.0,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.blocks = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        length = tokens.shape[1]
        positions = torch.arange(length, device=tokens.device)
        mask = nn.Transformer.generate_square_subsequent_mask(length, device=tokens.device)
        hidden = self.tokens(tokens) + self.positions(positions)
        hidden = self.blocks(hidden, mask=mask, is_causal=True)
        logits: torch.Tensor = self.head(self.norm(hidden))
        return logits


def reference_cnn(classes: int = 10) -> nn.Module:
    """Four convolution blocks for 32×32 RGB images: the CNN reference."""
    blocks: list[nn.Module] = []
    channels = [3, 64, 128, 256, 512]
    for index, (inputs, outputs) in enumerate(itertools.pairwise(channels)):
        blocks += [nn.Conv2d(inputs, outputs, 3, padding=1), nn.BatchNorm2d(outputs), nn.ReLU()]
        if index > 0:
            blocks.append(nn.MaxPool2d(2))
    return nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, classes))


def next_token_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten())


@dataclass(frozen=True)
class Workload:
    """A network, its loss, and the data it trains on; `unit` names what throughput counts."""

    make_net: Callable[[], nn.Module]
    make_data: Callable[[], TensorDataset]
    loss: LossFunction
    batch_size: int
    unit: str


def digits() -> TensorDataset:
    data = DigitsDataModule()
    data.setup()
    return data.splits["train"]


def random_images() -> TensorDataset:
    generator = torch.Generator().manual_seed(0)
    # 80 batches: no epoch boundary (a host sync for epoch metrics) inside the default window.
    images = torch.randn(40960, 3, 32, 32, generator=generator)
    return TensorDataset(images, torch.randint(0, 10, (40960,), generator=generator))


def random_tokens() -> TensorDataset:
    # 128 batches: no epoch boundary inside the default window.
    tokens = torch.randint(0, 16384, (4096, 513), generator=torch.Generator().manual_seed(0))
    return TensorDataset(tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous())


WORKLOADS = {
    "digits": Workload(ConvNet, digits, F.cross_entropy, 64, "img"),
    "cnn": Workload(reference_cnn, random_images, F.cross_entropy, 512, "img"),
    # About 80M parameters: 8 layers of width 768, 512-token context, 16k vocabulary.
    "gpt": Workload(
        lambda: TinyGPT(16384, 512, 768, 8, 12), random_tokens, next_token_loss, 32, "seq"
    ),
}


def loader(workload: Workload) -> DataLoader[tuple[torch.Tensor, ...]]:
    dataset = workload.make_data()
    batches = EpochBatchSampler(RandomSampler(dataset), workload.batch_size, drop_last=True)
    return batched_loader(dataset, batches)


def fresh_net(workload: Workload, device: torch.device, compile_net: bool) -> nn.Module:
    torch.manual_seed(0)  # the same initial weights for both loops
    net = workload.make_net().to(device)
    if compile_net:
        net.compile()
    return net


def optimizer_for(net: nn.Module) -> torch.optim.Optimizer:
    """AdamW as the project's module configures it: fused on a GPU (no per-step sync with fp16)."""
    on_gpu = next(net.parameters()).is_cuda
    return torch.optim.AdamW(net.parameters(), lr=1e-4, fused=on_gpu)


def endless(batches: DataLoader[tuple[torch.Tensor, ...]]) -> Iterator[tuple[torch.Tensor, ...]]:
    while True:
        yield from batches


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def raw_loop(
    workload: Workload, setting: str, device: torch.device, warmup: int, steps: int
) -> float:
    """Samples per second of a hand-written loop: autocast, GradScaler for fp16, AdamW."""
    precision, compile_net = SETTINGS[setting]
    net = fresh_net(workload, device, compile_net)
    optimizer = optimizer_for(net)
    dtype = AUTOCAST_DTYPES.get(precision)
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "16-mixed")
    batches = endless(loader(workload))
    start = 0.0
    for step in range(warmup + steps):
        batch = next(batches)
        if step == warmup:  # as in Lightning, the window opens with this step's batch in hand
            synchronize(device)
            start = time.perf_counter()
        inputs, targets = (tensor.to(device, non_blocking=True) for tensor in batch)
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            loss = workload.loss(net(inputs), targets)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()  # type: ignore[no-untyped-call]  # torch leaves it unannotated
        scaler.step(optimizer)
        scaler.update()
    synchronize(device)
    return steps * workload.batch_size / (time.perf_counter() - start)


class BenchModule(LightningModule):
    """The reference network in a LightningModule that logs its loss like the project's module."""

    def __init__(self, net: nn.Module, loss: LossFunction) -> None:
        super().__init__()
        self.net = net
        self.loss = loss

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        inputs, targets = batch
        loss = self.loss(self.net(inputs), targets)
        self.log("train/loss", loss, on_step=True, on_epoch=True)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return optimizer_for(self.net)


class StepWindowTimer(Callback):
    """Times the steps after `warmup`, synchronising the device only at the window's two ends."""

    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.start = 0.0
        self.elapsed = 0.0

    def on_train_batch_start(
        self, trainer: Trainer, pl_module: LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if trainer.global_step == self.warmup:
            synchronize(pl_module.device)
            self.start = time.perf_counter()

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if trainer.global_step == trainer.max_steps:
            synchronize(pl_module.device)
            self.elapsed = time.perf_counter() - self.start


def project_loggers(save_dir: str) -> list[Logger]:
    """The loggers this project trains with (from defaults.yaml), writing under `save_dir`."""
    defaults = yaml.safe_load((files(__package__) / "defaults.yaml").read_text())
    configs = defaults["trainer"]["logger"]
    # The benchmark's logs go to a scratch folder, not the project's runs/.
    scratch = {
        "save_dir": save_dir,
        "tracking_uri": f"sqlite:///{save_dir}/mlflow.db",
        "artifact_location": f"{save_dir}/mlartifacts",
    }
    loggers = []
    for config in configs if isinstance(configs, list) else [configs]:
        module, _, name = config["class_path"].rpartition(".")
        arguments = config.get("init_args", {})
        arguments.update({key: value for key, value in scratch.items() if key in arguments})
        loggers.append(getattr(importlib.import_module(module), name)(**arguments))
    return loggers


def lightning_loop(
    workload: Workload, setting: str, device: torch.device, warmup: int, steps: int
) -> float:
    """Samples per second of this project's loop: Lightning with logger and live-loss bar."""
    precision, compile_net = SETTINGS[setting]
    module = BenchModule(fresh_net(workload, device, compile_net), workload.loss)
    timer = StepWindowTimer(warmup)
    with tempfile.TemporaryDirectory() as save_dir:
        trainer = Trainer(
            accelerator=device.type,
            devices=1,
            precision=precision,  # type: ignore[arg-type]  # one of Lightning's precision names
            max_steps=warmup + steps,
            logger=project_loggers(save_dir),
            callbacks=[LiveLossProgressBar(), timer],
            enable_checkpointing=False,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            limit_val_batches=0,
        )
        trainer.fit(module, train_dataloaders=loader(workload))
    return steps * workload.batch_size / timer.elapsed


def input_ceiling(workload: Workload, device: torch.device, steps: int) -> float:
    """Samples per second the data path alone delivers to the device: the pipeline's ceiling."""
    batches = endless(loader(workload))
    next(batches)
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        for tensor in next(batches):
            tensor.to(device, non_blocking=True)
    synchronize(device)
    return steps * workload.batch_size / (time.perf_counter() - start)


def arguments(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", nargs="+", choices=list(WORKLOADS), default=list(WORKLOADS))
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--warmup", type=int, default=15, help="untimed steps first")
    parser.add_argument("--steps", type=int, default=60, help="timed steps")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    return parser.parse_args(args)


def main(args: list[str]) -> None:
    """`bench`: print one row per workload and setting with both throughputs and their ratio."""
    options = arguments(args)
    device = torch.device(options.device)
    torch.set_float32_matmul_precision("high")  # TF32 in both loops, as the gpu preset sets it
    print(f"device: {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}")
    print(f"{'workload':9} {'setting':8} {'plain loop':>14} {'this project':>14} {'ratio':>6}")
    for name in options.workloads:
        workload = WORKLOADS[name]
        ceiling = input_ceiling(workload, device, options.steps)
        unit = f"{workload.unit}/s"
        for setting in options.settings:
            if setting == "fp16" and device.type != "cuda":
                continue  # fp16 autocast is a CUDA feature; on a CPU it would mean bfloat16
            raw = raw_loop(workload, setting, device, options.warmup, options.steps)
            ours = lightning_loop(workload, setting, device, options.warmup, options.steps)
            print(
                f"{name:9} {setting:8} {raw:>10,.0f} {unit:3} {ours:>10,.0f} {unit:3} {ours / raw:6.3f}"
            )
        print(f"{name:9} {'input':8} {ceiling:>10,.0f} {unit:3}  (the data path alone)")
