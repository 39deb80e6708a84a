"""The network on its own: output shape, and that it can fit one batch."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from {{ cookiecutter.package_name }}.data import IMAGE_SHAPE, NUM_CLASSES, DigitsDataModule
from {{ cookiecutter.package_name }}.model import ConvNet


def test_forward_maps_images_to_one_logit_per_class() -> None:
    logits = ConvNet()(torch.zeros(5, *IMAGE_SHAPE))
    assert logits.shape == (5, NUM_CLASSES)
    assert torch.isfinite(logits).all()


def test_overfits_one_batch() -> None:
    torch.manual_seed(0)
    data = DigitsDataModule(batch_size=32)
    data.setup()
    images, labels = next(iter(data.train_dataloader()))
    net = ConvNet()
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(100):
        optimizer.zero_grad()
        loss = F.cross_entropy(net(images), labels)
        torch.autograd.backward(loss)
        optimizer.step()
    assert loss.item() < 0.01
    assert (net(images).argmax(dim=1) == labels).all()
