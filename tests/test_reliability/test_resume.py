"""Exact resume: a run interrupted and resumed with ``--resume`` holds the
same state as the uninterrupted run at the same iteration."""
import glob
import json
import os.path as osp

import pytest
import torch

from .conftest import DEMO_GML, run_tool, small_seg_options

HEAD = 'decode_head.'
# State the issue names explicitly (all of state_dict is compared anyway).
NAMED_STATE = [
    'contrast.queue.features', 'contrast.queue.labels',
    'contrast.queue.sample_ids', 'contrast.queue.pointer',
    'contrast.queue.num_pushed', 'contrast.queue.slot_size',
    'loss_gml.log_temperature', 'prior.counts', 'prior.num_updates',
    'queue_allocated', 'num_train_steps'
]


def train(work_dir, data_root, max_iters, *extra, resume=None):
    args = ['tools/train.py', DEMO_GML, '--work-dir', str(work_dir)]
    if resume is not None:
        args += ['--resume', resume]
    result = run_tool(*args, *small_seg_options(data_root, max_iters, *extra))
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def load(path):
    # the default torch.load (weights_only on torch >= 2.6) must read it
    return torch.load(path, map_location='cpu')


def assert_same_tensors(left: dict, right: dict, what: str) -> None:
    assert left.keys() == right.keys(), what
    for key in left:
        assert torch.equal(left[key], right[key]), f'{what}: {key} differs'


def assert_same_optimizer(left: dict, right: dict) -> None:
    assert left['param_groups'] == right['param_groups']
    assert left['state'].keys() == right['state'].keys()
    for index, state in left['state'].items():
        for name, value in state.items():
            other = right['state'][index][name]
            if torch.is_tensor(value):
                assert torch.equal(value, other), f'optimizer {index} {name}'
            else:
                assert value == other


def logged_losses(work_dir) -> dict:
    """iteration -> logged training losses, from every run in work_dir."""
    losses = {}
    for path in sorted(
            glob.glob(osp.join(str(work_dir), '*', 'vis_data',
                               'scalars.json'))):
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                if 'loss' in record:
                    losses[record['iter']] = {
                        key: value
                        for key, value in record.items() if 'loss' in key
                    }
    return losses


def differing_keys(left: dict, right: dict) -> list:
    return [key for key in left if not torch.equal(left[key], right[key])]


@pytest.fixture(scope='module')
def runs(synthetic_root, tmp_path_factory):
    """Uninterrupted 4 iterations; 2 + resumed 2 with and without the
    random-state hook (validation after iterations 2 and 4 in all)."""
    root = tmp_path_factory.mktemp('resume')
    train(root / 'full', synthetic_root, 4)
    for name, extra in (('resumed', ()),
                        ('reseeded', ('resume_random_state=False', ))):
        train(root / name, synthetic_root, 2, *extra)
        train(
            root / name,
            synthetic_root,
            4,
            *extra,
            resume=str(root / name / 'iter_2.pth'))
    return {
        name: dict(
            load(root / name / 'iter_4.pth'),
            losses=logged_losses(root / name))
        for name in ('full', 'resumed', 'reseeded')
    }


def test_resumed_run_equals_uninterrupted_run(runs):
    full, resumed = runs['full'], runs['resumed']
    assert full['meta']['iter'] == resumed['meta']['iter'] == 4
    for name in NAMED_STATE:
        assert HEAD + name in full['state_dict'], name
    assert full['state_dict'][HEAD + 'contrast.queue.num_pushed'].sum() > 0
    assert_same_tensors(full['state_dict'], resumed['state_dict'],
                        'state_dict')
    assert_same_optimizer(full['optimizer'], resumed['optimizer'])
    # the generators continue exactly as well
    for left, right in zip(full['random_states'], resumed['random_states']):
        assert torch.equal(left['torch'], right['torch'])
        assert (left['numpy'][1] == right['numpy'][1]).all()
        assert left['python'] == right['python']


def test_without_random_state_hook_resume_differs(runs):
    """mmengine alone re-seeds on resume: the anchors (torch generator) and
    flips (numpy generator) after the resume differ, and so does the queue.
    This is what the hook fixes; the test guards that the comparison above
    can fail."""
    full, reseeded = runs['full'], runs['reseeded']
    assert 'random_states' not in reseeded
    differ = differing_keys(full['state_dict'], reseeded['state_dict'])
    assert HEAD + 'contrast.queue.features' in differ


def test_checkpoint_holds_random_states_of_each_rank(runs):
    states = runs['full']['random_states']
    assert isinstance(states, list) and len(states) == 1
    assert {'python', 'numpy', 'torch'} <= set(states[0])


def test_same_seed_gives_same_loss_sequence(runs):
    """Determinism on the CPU: the first leg of the interrupted run is an
    independent run with the same seed, the resumed leg continues it; every
    logged loss term equals the uninterrupted run's, iteration by
    iteration."""
    full, resumed = runs['full']['losses'], runs['resumed']['losses']
    assert sorted(full) == [1, 2, 3, 4]
    assert full == resumed
