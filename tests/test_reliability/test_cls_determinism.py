"""Determinism on the CPU, classification side: the same seed gives the
same loss sequence of the GML classifier (EMA key encoder, queue, learnt
temperature); another seed gives another. The launcher-level check (same
seed, same logged losses of ``tools/train.py``) is in
``test_cls_resume.py``."""
import torch
from mmengine.runner import set_random_seed

from .test_cls_amp import samples, tiny_classifier, total


def loss_sequence(seed: int, steps: int = 3) -> list:
    model = tiny_classifier()  # weights from seed 0
    set_random_seed(seed)  # the images and anything random in the steps
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sequence = []
    for step in range(steps):
        views = [torch.randn(4, 3, 32, 32) for _ in range(3)]
        optimizer.zero_grad()
        losses = model.loss(views, samples([0, 1, 2, 3], offset=4 * step))
        total(losses).backward()
        optimizer.step()
        sequence.append({k: v.item() for k, v in losses.items()})
    sequence.append(model.head.contrast.queue.features.sum().item())
    return sequence


def test_same_seed_same_losses_other_seed_other_losses():
    first = loss_sequence(0)
    assert first == loss_sequence(0)
    assert first != loss_sequence(1)
