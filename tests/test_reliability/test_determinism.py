"""Determinism: the same seed gives the same loss sequence on the CPU."""
import torch

from .tiny_head import block_labels, build_head, data_samples, features, \
    total_loss


def loss_sequence(seed: int, steps: int = 4) -> list:
    torch.manual_seed(seed)  # the anchor sampler draws from torch's RNG
    head = build_head(seed=seed, prior=dict(type='ClassPrior', mode='online'))
    optimizer = torch.optim.AdamW(head.parameters(), lr=1e-2)
    sequence = []
    for step in range(steps):
        optimizer.zero_grad()
        losses = head.loss([features(seed=step)],
                           data_samples(block_labels(seed=step)), dict())
        total_loss(losses).backward()
        optimizer.step()
        sequence.append({k: v.item() for k, v in losses.items()})
    return sequence


def test_same_seed_same_losses_other_seed_other_losses():
    first, second = loss_sequence(0), loss_sequence(0)
    assert first == second
    assert loss_sequence(1) != first
