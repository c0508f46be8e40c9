"""RandomStateHook's generator states: saved and restored exactly (the
resume behaviour through the launchers is tests/test_reliability/
test_resume.py)."""
import random

import numpy as np
import torch

from mil_seg.engine.hooks.random_state_hook import (CHECKPOINT_KEY,
                                                    get_random_states,
                                                    set_random_states)


def draw():
    return (random.random(), np.random.rand(), torch.rand(3).tolist())


def test_restored_states_draw_the_same_numbers():
    states = get_random_states()
    assert {'python', 'numpy', 'torch'} <= set(states)
    first = draw()
    assert draw() != first
    set_random_states(states)
    assert draw() == first


def test_states_survive_a_checkpoint_round_trip(tmp_path):
    """Saved with torch.save and read back by the default torch.load
    (weights_only on torch >= 2.6), where python's state comes back as
    lists."""
    import mil_seg  # noqa: F401  (allow-lists numpy types for torch.load)
    states = get_random_states()
    first = draw()
    path = tmp_path / 'states.pth'
    torch.save({CHECKPOINT_KEY: [states]}, path)
    loaded = torch.load(path)[CHECKPOINT_KEY][0]
    version, internal, gauss = loaded['python']
    loaded['python'] = [version, list(internal), gauss]
    set_random_states(loaded)
    assert draw() == first


def test_missing_entries_are_left_alone():
    torch.manual_seed(0)
    expected = torch.rand(2)
    torch.manual_seed(0)
    set_random_states({'python': get_random_states()['python']})
    assert torch.equal(torch.rand(2), expected)
