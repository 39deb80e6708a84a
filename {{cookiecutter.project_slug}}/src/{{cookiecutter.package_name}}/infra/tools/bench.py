"""`bench`: steady-state training throughput of this project's Lightning loop against a plain loop.

Each workload is a LightningModule and the loader it trains on. `project` is yours: the model and
data module of the configuration (config.yaml, and any fit arguments given here, such as
`--model.hidden 256` or `--config FILE`), on its training loader. `cnn` and `gpt` are reference
networks that the template brings, on random data fed through `loading.batched_loader`.

Both loops train the same module from the same initial weights, in the same process. The plain loop
calls the module's `training_step` under autocast, with AdamW. The Lightning loop runs as users run
it: `Trainer.fit` with the module's own optimizer, the project's logger on and the progress bar
showing a live loss. Only the steps after a warm-up are timed, with one device synchronisation at
each end of the window. The two loops take turns, `--repeats` times (3 by default), and the row
gives each loop's best turn and their ratio, as timeit does: other work on the machine (other jobs,
a shared virtual machine's neighbours) only ever slows a turn down, so the fastest turn is the one
closest to the loop's own cost. The range is that of the turns' own ratios: a wide one says the
machine was busy.

    python -m {{ cookiecutter.package_name }} bench      # all workloads and settings
    python -m {{ cookiecutter.package_name }} bench --workloads gpt --settings bf16 compile
    python -m {{ cookiecutter.package_name }} bench --workloads project --data.batch_size 256
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib
import itertools
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from lightning.fabric.utilities.apply_func import move_data_to_device
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.loggers import Logger
from lightning.pytorch.utilities.data import extract_batch_size
from lightning.pytorch.utilities.types import STEP_OUTPUT
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

from {{ cookiecutter.package_name }}.infra.command_line import defaults
from {{ cookiecutter.package_name }}.infra.command_line.errors import Refusal
from {{ cookiecutter.package_name }}.infra.command_line.parser import CommandParser, PROG
from {{ cookiecutter.package_name }}.infra.machine import hardware
from {{ cookiecutter.package_name }}.infra.training.batched_loading import batched_loader
from {{ cookiecutter.package_name }}.infra.training.lightning_cli import (
    build,
    install_lightning_fixes,
)
from {{ cookiecutter.package_name }}.infra.training.progress import LiveLossProgressBar

Batch = tuple[torch.Tensor, torch.Tensor]
LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
# Lightning precision and whether the module is compiled, per setting name.
SETTINGS: dict[str, tuple[str, bool]] = {
    "fp32": ("32-true", False),
    "bf16": ("bf16-mixed", False),
    "fp16": ("16-mixed", False),
    "compile": ("bf16-mixed", True),
}
AUTOCAST_DTYPES = {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}
REFERENCES = ("cnn", "gpt")
# Lightning's loggers of information lines (devices found, "Loading train_dataloader ..."), which
# would interleave with bench's table.
LIGHTNING_LOGGERS = ("lightning.pytorch", "lightning.fabric")


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


def random_images() -> TensorDataset:
    generator = torch.Generator().manual_seed(0)
    # 80 batches: no epoch boundary (a host sync for epoch metrics) inside the default window.
    images = torch.randn(40960, 3, 32, 32, generator=generator)
    return TensorDataset(images, torch.randint(0, 10, (40960,), generator=generator))


def random_tokens() -> TensorDataset:
    # 128 batches: no epoch boundary inside the default window.
    tokens = torch.randint(0, 16384, (4096, 513), generator=torch.Generator().manual_seed(0))
    return TensorDataset(tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous())


class BenchModule(LightningModule):
    """A reference network in a LightningModule that logs its loss like the project's module."""

    def __init__(self, net: nn.Module, loss: LossFunction) -> None:
        super().__init__()
        self.net = net
        self.loss = loss

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        outputs: torch.Tensor = self.net(inputs)
        return outputs

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        inputs, targets = batch
        loss = self.loss(self(inputs), targets)
        self.log("train/loss", loss, on_step=True, on_epoch=True)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return optimizer_for(self)


@dataclass(frozen=True)
class Workload:
    """A module and the loader it trains on; `unit` names what throughput counts."""

    make_module: Callable[[], LightningModule]  # a fresh module with the same weights every time
    make_loader: Callable[[], DataLoader[Any]]
    unit: str
    log_every_n_steps: int = 50  # Lightning's default; the project workload's comes from its config


def reference(
    make_net: Callable[[], nn.Module], loss: LossFunction, data: TensorDataset, batch_size: int
) -> tuple[Callable[[], LightningModule], Callable[[], DataLoader[Any]]]:
    """A reference network's module factory and loader factory."""

    def make_module() -> LightningModule:
        torch.manual_seed(0)  # the same initial weights for both loops
        return BenchModule(make_net(), loss)

    def make_loader() -> DataLoader[Any]:
        batches = BatchSampler(RandomSampler(data), batch_size, drop_last=True)
        return batched_loader(data, batches)

    return make_module, make_loader


def reference_workload(name: str) -> Workload:
    if name == "cnn":
        return Workload(
            *reference(reference_cnn, F.cross_entropy, random_images(), 512), unit="img"
        )
    # About 80M parameters: 8 layers of width 768, 512-token context, 16k vocabulary.
    return Workload(
        *reference(lambda: TinyGPT(16384, 512, 768, 8, 12), next_token_loss, random_tokens(), 32),
        unit="seq",
    )


@contextlib.contextmanager
def out_of_sight() -> Iterator[None]:
    """The progress bar drawn into nothing and Lightning's information lines held back: the bar
    still does all its work, only bench's table reaches the terminal."""
    levels = {name: logging.getLogger(name).level for name in LIGHTNING_LOGGERS}
    with open(os.devnull, "w") as nowhere, contextlib.redirect_stdout(nowhere):
        try:
            for name in LIGHTNING_LOGGERS:
                logging.getLogger(name).setLevel(logging.WARNING)
            with warnings.catch_warnings():
                # Only the training loop is timed; the module's validation_step is not meant to run.
                warnings.filterwarnings(
                    "ignore", message="You defined a `validation_step` but have no"
                )
                yield
        finally:
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)


def project_workload(fit_args: list[str]) -> Workload:
    """The configured model and data module: what `fit` with `fit_args` would train."""
    with out_of_sight():
        cli = build([*fit_args, "--trainer.logger=false"], run=False)
    data = cli.datamodule
    if data is None:
        raise Refusal("the project workload needs a data module: set data.class_path or --data")
    data.setup("fit")
    initial = copy.deepcopy(cli.model)  # untrained: each loop starts from these weights
    return Workload(
        lambda: copy.deepcopy(initial),
        data.train_dataloader,
        "sample",
        log_every_n_steps=int(cli.config["trainer"]["log_every_n_steps"]),
    )


def fresh_module(workload: Workload, device: torch.device, compile_module: bool) -> LightningModule:
    module = workload.make_module().to(device).train()
    if compile_module:
        module.compile()
    return module


def optimizer_for(module: nn.Module) -> torch.optim.Optimizer:
    """AdamW as the project's module configures it: fused on a GPU (no per-step sync with fp16)."""
    on_gpu = next(module.parameters()).is_cuda
    return torch.optim.AdamW(module.parameters(), lr=1e-4, fused=on_gpu)


def endless(batches: DataLoader[Any]) -> Iterator[Any]:
    while True:
        yield from batches


def loss_of(output: STEP_OUTPUT) -> torch.Tensor:
    loss = output.get("loss") if isinstance(output, Mapping) else output
    if not isinstance(loss, torch.Tensor):
        raise Refusal("bench needs training_step to return the loss (a tensor, or {'loss': ...})")
    return loss


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def raw_loop(
    workload: Workload, setting: str, device: torch.device, warmup: int, steps: int
) -> float:
    """Samples per second of a hand-written loop: autocast, GradScaler for fp16, AdamW."""
    precision, compile_module = SETTINGS[setting]
    module = fresh_module(workload, device, compile_module)
    optimizer = optimizer_for(module)
    dtype = AUTOCAST_DTYPES.get(precision)
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "16-mixed")
    batches = endless(workload.make_loader())
    start, samples = 0.0, 0
    with warnings.catch_warnings():
        # Outside a Trainer, the module's self.log does nothing but warn: as a plain loop logs nothing.
        warnings.filterwarnings("ignore", message=".*self.log.*")
        for step in range(warmup + steps):
            batch = next(batches)
            if step == warmup:  # as in Lightning, the window opens with this step's batch in hand
                synchronize(device)
                start = time.perf_counter()
            samples += extract_batch_size(batch) if step >= warmup else 0
            batch = move_data_to_device(batch, device)
            autocast = torch.autocast(
                device.type, dtype=dtype or torch.float32, enabled=dtype is not None
            )
            with autocast:
                loss = loss_of(module.training_step(batch, step))
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()  # type: ignore[no-untyped-call]  # torch leaves it untyped
            scaler.step(optimizer)
            scaler.update()
    synchronize(device)
    return samples / (time.perf_counter() - start)


class StepWindowTimer(Callback):
    """Times the steps after `warmup` and counts their samples, synchronising the device only at
    the window's two ends."""

    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.start = 0.0
        self.elapsed = 0.0
        self.samples = 0

    def on_train_batch_start(
        self, trainer: Trainer, pl_module: LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if trainer.global_step == self.warmup:
            synchronize(pl_module.device)
            self.start = time.perf_counter()

    def on_train_batch_end(
        self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if trainer.global_step > self.warmup:
            self.samples += extract_batch_size(batch)
        if trainer.global_step == trainer.max_steps:
            synchronize(pl_module.device)
            self.elapsed = time.perf_counter() - self.start


def project_loggers(save_dir: str) -> list[Logger]:
    """The loggers this project trains with (from the defaults), writing under `save_dir`."""
    configs = defaults.load()["trainer"]["logger"]
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
    precision, compile_module = SETTINGS[setting]
    module = fresh_module(workload, device, compile_module)
    timer = StepWindowTimer(warmup)
    with tempfile.TemporaryDirectory() as save_dir, out_of_sight():
        trainer = Trainer(
            accelerator=device.type,
            devices=1,
            precision=precision,  # type: ignore[arg-type]  # one of Lightning's precision names
            max_steps=warmup + steps,
            logger=project_loggers(save_dir),
            log_every_n_steps=workload.log_every_n_steps,
            callbacks=[LiveLossProgressBar(), timer],
            enable_checkpointing=False,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            limit_val_batches=0,
        )
        trainer.fit(module, train_dataloaders=workload.make_loader())
    return timer.samples / timer.elapsed


def input_ceiling(workload: Workload, device: torch.device, steps: int) -> float:
    """Samples per second the data path alone delivers to the device: the pipeline's ceiling."""
    batches = endless(workload.make_loader())
    next(batches)
    synchronize(device)
    start, samples = time.perf_counter(), 0
    for _ in range(steps):
        batch = next(batches)
        samples += extract_batch_size(batch)
        move_data_to_device(batch, device)
    synchronize(device)
    return samples / (time.perf_counter() - start)


def parser() -> CommandParser:
    """bench's own options; the others are arguments of fit that configure the project workload."""
    parser = CommandParser(
        prog=f"{PROG} bench",
        description=__doc__.split("\n\n")[0].removeprefix("`bench`: "),
        epilog="Other arguments (--preset, --config, --model.*, --data.*) configure the project "
        "workload, as for fit.",
    )
    parser.add_argument(
        "--workloads",
        nargs="+",
        choices=["project", *REFERENCES],
        help="default: all on a GPU; on a CPU `project` only (the references are GPU-sized: "
        "seconds a step on a CPU)",
    )
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--warmup", type=int, default=15, help="untimed steps first")
    parser.add_argument("--steps", type=int, default=60, help="timed steps")
    parser.add_argument(
        "--repeats", type=int, default=3, help="turns of both loops; the row gives the best"
    )
    parser.add_argument("--device", default="cuda" if hardware.uses_cuda("auto") else "cpu")
    return parser


def arguments(args: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """bench's own options, and the rest: arguments of fit that configure the project workload."""
    return parser().parse_known_args(args)


def chosen_device(name: str) -> torch.device:
    """The device of --device, refused when it is no device or not on this machine."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise Refusal(f"bench --device {name} is not a device: use cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise Refusal(
            f"bench --device {name} but no CUDA GPU is visible (torch.cuda.is_available() is "
            "False): run on a GPU machine, or use --device cpu"
        )
    return device


def chosen_workloads(options: argparse.Namespace, device: torch.device) -> list[str]:
    """The workloads asked for; by default all of them on a GPU and the project's alone on a CPU."""
    if options.workloads:
        return list(options.workloads)
    if device.type == "cuda":
        return ["project", *REFERENCES]
    print(
        f"cpu: the project workload only; the reference workloads ({', '.join(REFERENCES)}) are "
        "sized for a GPU and take seconds a step here (--workloads project cnn gpt runs them)"
    )
    return ["project"]


def main(args: list[str]) -> None:
    """`bench`: print one row per workload and setting with both throughputs and their ratio."""
    options, fit_args = arguments(args)
    device = chosen_device(options.device)
    for option, value, lowest in (
        ("--steps", options.steps, 1),
        ("--warmup", options.warmup, 0),
        ("--repeats", options.repeats, 1),
    ):
        if value < lowest:
            raise Refusal(f"bench {option} {value}: give {lowest} or more")
    torch.set_float32_matmul_precision("high")  # TF32 in both loops, as the gpu preset sets it
    install_lightning_fixes()  # the project's loop as fit runs it, whichever workloads are timed
    print(f"device: {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}")
    workloads = chosen_workloads(options, device)
    print(
        f"{'workload':9} {'setting':8} {'plain loop':>17} {'this project':>17} {'ratio':>6}  range"
    )
    for name in workloads:
        workload = project_workload(fit_args) if name == "project" else reference_workload(name)
        ceiling = input_ceiling(workload, device, options.steps)
        unit = f"{workload.unit}/s"
        for setting in options.settings:
            if setting == "fp16" and device.type != "cuda":
                continue  # fp16 autocast is a CUDA feature; on a CPU it would mean bfloat16
            raws, ours = [], []
            for _ in range(options.repeats):
                raws.append(raw_loop(workload, setting, device, options.warmup, options.steps))
                ours.append(
                    lightning_loop(workload, setting, device, options.warmup, options.steps)
                )
            ratios = [our / raw for raw, our in zip(raws, ours)]
            raw, our = max(raws), max(ours)
            print(
                f"{name:9} {setting:8} {raw:>8,.0f} {unit:8} {our:>8,.0f} {unit:8} {our / raw:6.3f}  "
                f"{min(ratios):.3f}-{max(ratios):.3f}"
            )
        print(f"{name:9} {'input':8} {ceiling:>8,.0f} {unit:8}  (the data path alone)")
