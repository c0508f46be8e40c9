"""Determinism on the CPU: the same seed gives the same loss sequence of a
GML model (segmentation: the GML head with an online prior and its anchor
sampler; classification: the GML classifier with its EMA key encoder,
queue and learnt temperature); another seed gives another. The
launcher-level check (same seed, same logged losses of ``tools/train.py``)
is in ``test_resume.py``."""
import pytest

from .tasks import TASKS


@pytest.mark.parametrize('task', ['seg', 'cls'])
def test_same_seed_same_losses_other_seed_other_losses(task):
    loss_sequence = TASKS[task].loss_sequence
    first = loss_sequence(0)
    assert first == loss_sequence(0)
    assert first != loss_sequence(1)
