"""Exact resume through ``tools/train.py --resume``: a run interrupted and
resumed holds the same state as the uninterrupted run at the same
iteration (segmentation demo, iteration-based) or epoch boundary
(classification, epoch-based; the single-stage EMA config and the stage-2
student of a frozen teacher): queue contents, ring pointers, sample ids,
temperature, prior counts, key encoder or frozen teacher and key
projector, optimizer state and the random generators. The first leg of an
interrupted run is also an independent run with the same seed: its logged
losses equal the uninterrupted run's (determinism on the CPU).

The runs are the session fixtures ``seg_runs``, ``cls_ema_runs`` and
``cls_student_runs`` of tests/conftest.py (shared with tests/test_tools).

The same holds for an epoch-based config resumed from a checkpoint saved
in the middle of an epoch, and in two processes (test_distributed.py)."""
import pytest
import torch

import mil_seg  # noqa: F401  (loads mmengine checkpoints on torch >= 2.6)
from ..tool_runner import CLS_EMA, cls_run_options, logged_losses, train_ok

SEG_STATE = [
    'contrast.queue.features', 'contrast.queue.labels',
    'contrast.queue.sample_ids', 'contrast.queue.pointer',
    'contrast.queue.num_pushed', 'contrast.queue.slot_size',
    'loss_gml.log_temperature', 'prior.counts', 'prior.num_updates',
    'num_train_steps'
]
CLS_STATE = [
    'contrast.queue.features', 'contrast.queue.labels',
    'contrast.queue.sample_ids', 'contrast.queue.pointer',
    'contrast.queue.num_pushed', 'contrast.queue.slot_start',
    'contrast.queue.slot_size', 'loss_gml.log_temperature', 'prior.counts',
    'prior.num_updates'
]
# run: (fixture, head prefix, state the issue names explicitly (all of
# state_dict is compared anyway), last iteration, epoch)
RUNS = dict(
    seg=('seg_runs', 'decode_head.',
         ['decode_head.' + name for name in SEG_STATE], 4, None),
    cls_ema=('cls_ema_runs', 'head.', [
        'head.' + name for name in CLS_STATE
    ] + [
        'key_encoder.steps', 'key_encoder.module.projector.0.weight',
        'key_encoder.module.backbone.conv1.weight'
    ], 6, 2),
    cls_student=('cls_student_runs', 'head.', [
        'head.' + name for name in CLS_STATE
    ] + [
        'head.contrast.key_projector.0.weight',
        'teacher.backbone.conv1.weight'
    ], 6, 2))

run_kinds = pytest.mark.parametrize('kind', [
    pytest.param(kind, marks=pytest.mark.xdist_group(RUNS[kind][0]))
    for kind in RUNS
])


@pytest.fixture
def runs(request, kind):
    return request.getfixturevalue(RUNS[kind][0])


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


def differing_keys(left: dict, right: dict) -> list:
    return [key for key in left if not torch.equal(left[key], right[key])]


@run_kinds
def test_resumed_run_equals_uninterrupted_run(runs, kind):
    _, head, named_state, last_iter, last_epoch = RUNS[kind]
    full, resumed = runs['full'], runs['resumed']
    assert full['meta']['iter'] == resumed['meta']['iter'] == last_iter
    if last_epoch is not None:
        assert full['meta']['epoch'] == resumed['meta']['epoch'] == \
            last_epoch
    state = full['state_dict']
    for name in named_state:
        assert name in state, name
    assert state[head + 'contrast.queue.num_pushed'].sum() > 0
    assert_same_tensors(state, resumed['state_dict'], 'state_dict')
    assert_same_optimizer(full['optimizer'], resumed['optimizer'])
    # the generators continue exactly as well
    for left, right in zip(full['random_states'], resumed['random_states']):
        assert torch.equal(left['torch'], right['torch'])
        assert (left['numpy'][1] == right['numpy'][1]).all()
        assert left['python'] == right['python']
    if kind != 'seg':
        # the queue was filled and its head classes' rings wrapped around
        pushed = state[head + 'contrast.queue.num_pushed']
        assert (pushed > state[head + 'contrast.queue.slot_size']).any()
        assert state[head + 'prior.counts'].tolist() == [8, 4, 2] + [1] * 7
        assert full['optimizer']['state'], 'SGD momentum buffers expected'
    if kind == 'cls_ema':
        # the momentum encoder moved (3 updates per epoch)
        assert int(state['key_encoder.steps']) == 6
    if kind == 'cls_student':
        assert not any(k.startswith('key_encoder.') for k in state)
        assert 'loss_kd' in full['losses'][6]


@run_kinds
def test_same_seed_gives_same_loss_sequence(runs, kind):
    """Determinism on the CPU: the first leg of the interrupted run is an
    independent run with the same seed, the resumed leg continues it; every
    logged loss term equals the uninterrupted run's, iteration by
    iteration."""
    last_iter = RUNS[kind][3]
    full, resumed = runs['full']['losses'], runs['resumed']['losses']
    assert sorted(full) == list(range(1, last_iter + 1))
    assert full == resumed


@run_kinds
def test_without_random_state_hook_resume_differs(runs, kind):
    """mmengine alone re-seeds on resume: what is drawn after the resume
    (segmentation: the anchors and flips; classification: the key views'
    augmentations) differs, and so does the queue. This is what the hook
    fixes; the test guards that the comparison above can fail."""
    head = RUNS[kind][1]
    full, reseeded = runs['full'], runs['reseeded']
    assert 'random_states' not in reseeded
    differ = differing_keys(full['state_dict'], reseeded['state_dict'])
    assert head + 'contrast.queue.features' in differ
    if kind == 'cls_ema':
        assert 'key_encoder.module.backbone.conv1.weight' in differ
        # the first (uninterrupted) epoch is identical
        assert all(full['losses'][i] == reseeded['losses'][i]
                   for i in (1, 2, 3))
        assert full['losses'][6] != reseeded['losses'][6]
    if kind == 'cls_student':
        # the frozen teacher never changes
        assert not any(k.startswith('teacher.') for k in differ)


@run_kinds
def test_checkpoint_holds_random_states_of_each_rank(runs, kind):
    states = runs['full']['random_states']
    assert isinstance(states, list) and len(states) == 1
    assert {'python', 'numpy', 'torch'} <= set(states[0])


# ------------------------------------------------------------ mid-epoch
@pytest.mark.xdist_group('cls_mid_epoch_resume')
def test_mid_epoch_resume_of_an_epoch_based_config(cls_folders, tmp_path):
    """2 epochs of 3 iterations, a checkpoint every iteration; resumed from
    iteration 4 (the middle of epoch 2), the run trains iterations 5 and 6
    only (mmengine alone would train the whole of epoch 2 again) and ends
    with the uninterrupted run's checkpoint."""
    options = cls_run_options(cls_folders)
    by_iter = ('default_hooks.checkpoint.by_epoch=False',
               'default_hooks.checkpoint.interval=1')
    train_ok(CLS_EMA, tmp_path / 'full', options(2, *by_iter))
    train_ok(CLS_EMA, tmp_path / 'resumed', options(2, *by_iter),
             resume=tmp_path / 'full' / 'iter_4.pth')
    full, resumed = (torch.load(tmp_path / name / 'iter_6.pth',
                                map_location='cpu')
                     for name in ('full', 'resumed'))
    assert not (tmp_path / 'resumed' / 'iter_7.pth').exists()
    assert sorted(logged_losses(tmp_path / 'resumed')) == [5, 6]
    assert resumed['meta']['epoch'] == full['meta']['epoch']
    assert_same_tensors(full['state_dict'], resumed['state_dict'],
                        'state_dict')
    assert_same_optimizer(full['optimizer'], resumed['optimizer'])
