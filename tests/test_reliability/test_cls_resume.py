"""Exact resume on the classification side (epoch-based configs): a run
interrupted at an epoch boundary and resumed with ``tools/train.py
--resume`` holds the same state as the uninterrupted run at the same epoch:
queue contents, ring pointers, sample ids, temperature, EMA key encoder (or
frozen teacher and trainable key projector), prior counts and optimizer
state. The first leg of an interrupted run is also an independent run with
the same seed: its logged losses equal the uninterrupted run's
(determinism on the CPU)."""
import os
import os.path as osp

import numpy as np
import pytest
import torch

from .conftest import ROOT, run_tool
from .test_resume import (assert_same_optimizer, assert_same_tensors,
                          differing_keys, load, logged_losses)

CLS_CONFIGS = osp.join(ROOT, 'configs', 'gml_cls')
EMA = osp.join(CLS_CONFIGS, 'gml-ema_resnet32_1xb128-200e_cifar10lt-r100.py')
TEACHER = osp.join(CLS_CONFIGS,
                   'gml-teacher_resnet56_1xb128-200e_cifar10lt-r100.py')
STUDENT = osp.join(CLS_CONFIGS,
                   'gml_resnet32-resnet56_1xb128-200e_cifar10lt-r100.py')
NUM_CLASSES = 10
# 10 x base 2 + 20: the head classes' rings wrap within two epochs.
QUEUE_SIZE = 40

HEAD = 'head.'
NAMED_STATE = [
    'contrast.queue.features', 'contrast.queue.labels',
    'contrast.queue.sample_ids', 'contrast.queue.pointer',
    'contrast.queue.num_pushed', 'contrast.queue.slot_start',
    'contrast.queue.slot_size', 'loss_gml.log_temperature', 'prior.counts',
    'prior.num_updates'
]


def write_image_folders(root: str, per_class: int = 8, empty=()) -> str:
    """CIFAR-10 style JPEG folders ``root/{train,val}/class<k>/*.jpg`` of
    random 32 x 32 images (``empty`` training classes get none)."""
    import cv2
    rng = np.random.default_rng(0)
    for split, count in (('train', per_class), ('val', 2)):
        for k in range(NUM_CLASSES):
            folder = osp.join(root, split, f'class{k}')
            os.makedirs(folder, exist_ok=True)
            n = 0 if split == 'train' and k in empty else count
            for i in range(n):
                image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                cv2.imwrite(osp.join(folder, f'{i:03d}.jpg'), image)
    return root


def cls_options(data_root: str, max_epochs: int, *extra: str) -> list:
    """``--cfg-options`` of a tiny CIFAR-10-LT folder run: 8 images per
    class before the long-tail subset (21 after), batch 8, no workers, a
    checkpoint and a validation every epoch, seed 0 (the classification
    runtime leaves the seed to chance)."""
    return [
        '--cfg-options',
        f'train_dataloader.dataset.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}',
        'train_dataloader.batch_size=8', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.batch_size=8', 'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'test_dataloader.batch_size=8', 'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        f'train_cfg.max_epochs={max_epochs}', 'train_cfg.val_interval=1',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=-1',
        'default_hooks.logger.interval=1', 'randomness.seed=0', *extra
    ]


def train(config, work_dir, data_root, max_epochs, *extra, resume=None):
    args = ['tools/train.py', config, '--work-dir', str(work_dir)]
    if resume is not None:
        args += ['--resume', resume]
    result = run_tool(*args, *cls_options(data_root, max_epochs, *extra))
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def resume_runs(config, root, data_root, *extra):
    """Uninterrupted 2 epochs; 1 epoch + resumed 1 epoch with and without
    the random-state hook. Returns the epoch-2 checkpoints and the logged
    losses of each."""
    train(config, root / 'full', data_root, 2, *extra)
    for name, more in (('resumed', ()),
                       ('reseeded', ('resume_random_state=False', ))):
        train(config, root / name, data_root, 1, *extra, *more)
        train(
            config,
            root / name,
            data_root,
            2,
            *extra,
            *more,
            resume=str(root / name / 'epoch_1.pth'))
    return {
        name: dict(
            load(root / name / 'epoch_2.pth'),
            losses=logged_losses(root / name))
        for name in ('full', 'resumed', 'reseeded')
    }


@pytest.fixture(scope='module')
def cls_data_root(tmp_path_factory) -> str:
    return write_image_folders(str(tmp_path_factory.mktemp('cifar10_lt')))


@pytest.fixture(scope='module')
def ema_runs(cls_data_root, tmp_path_factory):
    return resume_runs(EMA, tmp_path_factory.mktemp('cls_resume_ema'),
                       cls_data_root, f'model.head.queue.size={QUEUE_SIZE}')


@pytest.fixture(scope='module')
def student_runs(cls_data_root, tmp_path_factory):
    """Stage 1 (a depth-20 teacher) trained for one epoch, then the stage-2
    student with that checkpoint as its frozen key encoder."""
    root = tmp_path_factory.mktemp('cls_resume_student')
    train(TEACHER, root / 'stage1', cls_data_root, 1,
          'model.backbone.depth=20')
    teacher = str(root / 'stage1' / 'epoch_1.pth')
    return resume_runs(STUDENT, root, cls_data_root,
                       f'model.head.queue.size={QUEUE_SIZE}',
                       'model.teacher.backbone.depth=20',
                       f'model.teacher.checkpoint={teacher}')


def check_exact_resume(runs, extra_names=()):
    full, resumed = runs['full'], runs['resumed']
    assert full['meta']['epoch'] == resumed['meta']['epoch'] == 2
    assert full['meta']['iter'] == resumed['meta']['iter'] == 6
    state = full['state_dict']
    for name in [HEAD + n for n in NAMED_STATE] + list(extra_names):
        assert name in state, name
    # the queue was filled and its head classes' rings wrapped around
    pushed = state[HEAD + 'contrast.queue.num_pushed']
    assert (pushed > state[HEAD + 'contrast.queue.slot_size']).any()
    assert state[HEAD + 'prior.counts'].tolist() == [8, 4, 2] + [1] * 7
    assert_same_tensors(state, resumed['state_dict'], 'state_dict')
    assert_same_optimizer(full['optimizer'], resumed['optimizer'])
    assert full['optimizer']['state'], 'SGD momentum buffers expected'
    for left, right in zip(full['random_states'], resumed['random_states']):
        assert torch.equal(left['torch'], right['torch'])
        assert (left['numpy'][1] == right['numpy'][1]).all()
        assert left['python'] == right['python']
    # every logged loss term, iteration by iteration (the first epoch of
    # the interrupted run is an independent run with the same seed)
    assert sorted(full['losses']) == [1, 2, 3, 4, 5, 6]
    assert full['losses'] == resumed['losses']


def test_ema_resume_at_epoch_boundary_equals_uninterrupted_run(ema_runs):
    check_exact_resume(
        ema_runs,
        ('key_encoder.steps', 'key_encoder.module.projector.0.weight',
         'key_encoder.module.backbone.conv1.weight'))
    # the momentum encoder moved (3 updates per epoch)
    assert int(ema_runs['full']['state_dict']['key_encoder.steps']) == 6


def test_ema_without_random_state_hook_resume_differs(ema_runs):
    """mmengine alone re-seeds on resume: the key views' augmentations
    after the resume differ, and so do the queue and the weights. Guards
    that the comparison above can fail."""
    full, reseeded = ema_runs['full'], ema_runs['reseeded']
    assert 'random_states' not in reseeded
    differ = differing_keys(full['state_dict'], reseeded['state_dict'])
    assert HEAD + 'contrast.queue.features' in differ
    assert 'key_encoder.module.backbone.conv1.weight' in differ
    # the first (uninterrupted) epoch is identical
    assert all(full['losses'][i] == reseeded['losses'][i] for i in (1, 2, 3))
    assert full['losses'][6] != reseeded['losses'][6]


def test_student_resume_at_epoch_boundary_equals_uninterrupted_run(
        student_runs):
    check_exact_resume(
        student_runs,
        ('head.contrast.key_projector.0.weight', 'teacher.backbone.conv1.weight'))
    assert not any(k.startswith('key_encoder.')
                   for k in student_runs['full']['state_dict'])
    assert 'loss_kd' in student_runs['full']['losses'][6]


def test_student_without_random_state_hook_resume_differs(student_runs):
    differ = differing_keys(student_runs['full']['state_dict'],
                            student_runs['reseeded']['state_dict'])
    assert HEAD + 'contrast.queue.features' in differ
    # the frozen teacher never changes
    assert not any(k.startswith('teacher.') for k in differ)
