"""tools/train.py and tools/test.py end to end, in subprocesses, on
generated data: train, evaluate the checkpoint, resume (segmentation demo
and the classification EMA config: the session runs ``seg_runs`` and
``cls_ema_runs`` of tests/conftest.py, shared with the exact-resume tests of
tests/test_reliability), bad input as one clear line, and the DeepLabV3+
GML config on an ADE20K layout."""
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

import mil_seg  # noqa: F401  (allow-lists mmengine types for torch.load)

from ..tool_runner import DEMO_GML as DEMO
from ..tool_runner import (CLS_EMA, ROOT, cls_options, cls_run_options,
                           run_tool, small_seg_options)

# task: (session runs, xdist group, config, checkpoint of the whole run)
TASKS = dict(
    seg=('seg_runs', DEMO, 'iter_4.pth'),
    cls=('cls_ema_runs', CLS_EMA, 'epoch_2.pth'))
tasks = pytest.mark.parametrize('task', [
    pytest.param(task, marks=pytest.mark.xdist_group(TASKS[task][0]))
    for task in TASKS
])


def run_options(task, request):
    """The ``--cfg-options`` the task's runs trained with."""
    if task == 'seg':
        return small_seg_options(request.getfixturevalue('synthetic_root'),
                                 4)
    return cls_run_options(request.getfixturevalue('cls_folders'))(2)


@tasks
def test_train_writes_checkpoint_loadable_weights_only(task, request):
    runs = request.getfixturevalue(TASKS[task][0])
    checkpoint = runs['full']['work_dir'] / TASKS[task][2]
    assert osp.isfile(checkpoint)
    # The default torch.load (weights_only on torch >= 2.6) reads it.
    state = torch.load(checkpoint, map_location='cpu')
    if task == 'seg':
        assert state['meta']['iter'] == 4
    else:
        assert state['meta']['epoch'] == 2
    queue_keys = [key for key in state['state_dict'] if 'queue' in key]
    assert queue_keys, 'the queue lives in the checkpoint'


@tasks
def test_test_tool_evaluates_checkpoint(task, request, tmp_path):
    runs = request.getfixturevalue(TASKS[task][0])
    config, checkpoint = TASKS[task][1], TASKS[task][2]
    out = tmp_path / 'metrics.json'
    result = run_tool('tools/test.py', config,
                      str(runs['full']['work_dir'] / checkpoint),
                      '--work-dir', str(tmp_path), '--out', str(out),
                      *run_options(task, request))
    assert result.returncode == 0, result.stderr[-4000:]
    metrics = json.loads(out.read_text())
    if task == 'seg':
        assert 0.0 <= metrics['mIoU'] <= 100.0
        assert {'aAcc', 'mAcc', 'mIoU_head', 'mIoU_tail'} <= set(metrics)
    else:
        assert 0.0 <= metrics['lt/top1'] <= 100.0


@tasks
def test_resume_continues_from_checkpoint(task, request):
    """A bare ``--resume``: the run continues from the latest checkpoint of
    its work dir (the ``reseeded`` run: half the schedule, then resumed)."""
    reseeded = request.getfixturevalue(TASKS[task][0])['reseeded']
    result = reseeded['resume_result']
    assert result.returncode == 0, result.stderr[-4000:]
    assert 'resumed' in (result.stdout + result.stderr).lower()
    checkpoint = reseeded['work_dir'] / TASKS[task][2]
    assert osp.isfile(checkpoint)
    state = torch.load(checkpoint, map_location='cpu')
    if task == 'seg':
        assert state['meta']['iter'] == 4
    else:
        assert state['meta']['epoch'] == 2


# ------------------------------------------------- bad input, one line each
def assert_one_error_line(result, *fragments):
    assert result.returncode == 2, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert 'Traceback' not in result.stderr, result.stderr[-3000:]
    error_lines = [line for line in lines if line.startswith('error:')]
    assert len(error_lines) == 1, lines
    for fragment in fragments:
        assert fragment in error_lines[0], error_lines[0]


def test_unknown_module_is_one_clear_line(synthetic_root, tmp_path):
    result = run_tool('tools/train.py', DEMO, '--work-dir', str(tmp_path),
                      *small_seg_options(synthetic_root, 2),
                      'model.decode_head.type=NoSuchHead')
    assert_one_error_line(result, 'NoSuchHead', 'registry')


def test_missing_data_root_is_one_clear_line(tmp_path):
    missing = str(tmp_path / 'nowhere')
    result = run_tool('tools/train.py', DEMO, '--work-dir', str(tmp_path),
                      *small_seg_options(missing, 2))
    assert_one_error_line(result, 'data not found', missing)


def test_missing_config_and_checkpoint_are_one_clear_line(tmp_path):
    result = run_tool('tools/train.py', str(tmp_path / 'nope.py'))
    assert_one_error_line(result, 'config file not found')
    result = run_tool('tools/test.py', DEMO, str(tmp_path / 'nope.pth'))
    assert_one_error_line(result, 'checkpoint not found')


def test_wrong_launcher_is_rejected_by_name():
    result = run_tool('tools/train.py', DEMO, '--launcher', 'mpirun')
    assert result.returncode == 2
    assert "invalid choice: 'mpirun'" in result.stderr
    assert 'Traceback' not in result.stderr


def test_package_check_is_one_clear_line(synthetic_root, tmp_path):
    result = run_tool('tools/train.py', DEMO, '--work-dir', str(tmp_path),
                      *small_seg_options(synthetic_root, 2),
                      'model.decode_head.queue.size=4')
    assert_one_error_line(result, 'Queue size 4 is smaller than', 'increase')


def test_student_without_teacher_checkpoint_is_one_clear_line(
        cls_folders, tmp_path):
    student = osp.join(ROOT, 'configs', 'gml_cls',
                       'gml_resnet32-resnet56_1xb128-200e_cifar10lt-r100.py')
    result = run_tool('tools/train.py', student, '--work-dir', str(tmp_path),
                      *cls_options(cls_folders, 1),
                      f'model.teacher.checkpoint={tmp_path}/missing.pth')
    assert result.returncode == 2, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr
    errors = [line for line in result.stderr.splitlines()
              if line.startswith('error:')]
    assert len(errors) == 1
    assert 'teacher checkpoint' in errors[0]
    assert 'missing.pth' in errors[0]


# ---------------------------------------------- ADE20K layout, DeepLabV3+
ADE20K_CONFIG = osp.join(ROOT, 'configs', 'gml_seg',
                         'deeplabv3plus-gml_r50-d8_4xb4-80k_ade20k-512x512.py')
# ADE20K annotation values present in the generated maps (0 = unlabelled).
PRESENT = (0, 1, 3, 150)


def make_ade20k_layout(root: str) -> None:
    """ADEChallengeData2016 layout: jpg images, png maps with 0..150."""
    rng = np.random.default_rng(0)
    for split, prefix, num in (('training', 'train', 4),
                               ('validation', 'val', 2)):
        os.makedirs(osp.join(root, 'images', split))
        os.makedirs(osp.join(root, 'annotations', split))
        for i in range(num):
            name = f'ADE_{prefix}_{i + 1:08d}'
            image = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
            # 8x8 blocks, mostly class value 1, some 3 and 150, some 0.
            blocks = rng.choice(PRESENT, size=(6, 8), p=[0.1, 0.6, 0.2, 0.1])
            label = np.kron(blocks, np.ones((8, 8))).astype(np.uint8)
            Image.fromarray(image).save(
                osp.join(root, 'images', split, f'{name}.jpg'))
            Image.fromarray(label).save(
                osp.join(root, 'annotations', split, f'{name}.png'))


def tiny_options(data_root: str) -> list:
    options = [
        'model.pretrained=None', 'model.data_preprocessor.size=(32,32)',
        'train_dataloader.batch_size=2', 'train_cfg.max_iters=2',
        'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2',
        'default_hooks.logger.interval=1',
        'train_dataloader.dataset.pipeline.2.scale=(64,48)',
        'train_dataloader.dataset.pipeline.3.crop_size=(32,32)',
        'val_dataloader.dataset.pipeline.1.scale=(64,48)',
        'test_dataloader.dataset.pipeline.1.scale=(64,48)'
    ]
    for loader in ('train', 'val', 'test'):
        options += [
            f'{loader}_dataloader.dataset.data_root={data_root}',
            f'{loader}_dataloader.num_workers=0',
            f'{loader}_dataloader.persistent_workers=False'
        ]
    return ['--cfg-options', *options]


@pytest.fixture(scope='module')
def ade_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('ade') / 'ADEChallengeData2016')
    make_ade20k_layout(root)
    return root


@pytest.mark.xdist_group('ade20k_run')
def test_deeplabv3plus_gml_trains_and_tests_on_ade20k_layout(
        ade_root, tmp_path):
    work_dir = str(tmp_path / 'work')
    result = run_tool('tools/train.py', ADE20K_CONFIG, '--work-dir',
                      work_dir, *tiny_options(ade_root))
    assert result.returncode == 0, result.stdout[-2000:] + \
        result.stderr[-4000:]
    checkpoint = osp.join(work_dir, 'iter_2.pth')
    state = torch.load(checkpoint, map_location='cpu')['state_dict']
    # reduce_zero_label: annotation v becomes class v - 1, 0 is ignored, so
    # the queue only ever saw classes 0, 2 and 149.
    pushed = state['decode_head.contrast.queue.num_pushed']
    seen = set(torch.nonzero(pushed).flatten().tolist())
    assert seen and seen <= {0, 2, 149}, seen

    out = str(tmp_path / 'metrics.json')
    per_class = str(tmp_path / 'per_class.json')
    result = run_tool('tools/test.py', ADE20K_CONFIG, checkpoint,
                      '--work-dir', str(tmp_path / 'test'), '--out', out,
                      *tiny_options(ade_root),
                      f'test_evaluator.output_file={per_class}')
    assert result.returncode == 0, result.stdout[-2000:] + \
        result.stderr[-4000:]
    with open(out, encoding='utf-8') as f:
        metrics = json.load(f)
    # Classes 0 and 2 (wall, sky) are head classes, 149 (flag) a tail one;
    # a group without any class in the labels or predictions has no mean.
    for key in ('mIoU', 'mAcc', 'aAcc', 'mIoU_head', 'mIoU_tail'):
        assert key in metrics, metrics
    with open(per_class, encoding='utf-8') as f:
        table = json.load(f)
    assert len(table['classes']) == 150
    # Groups by prior rank thirds: 50 classes each.
    assert [table['groups'].count(g) for g in ('head', 'body', 'tail')] == \
        [50, 50, 50]
    # Frequency groups by the prior's image counts, LTSS's 60 / 20 / 20 %
    # of the classes; wall (class 0) is in the most training images.
    assert [table['frequency_groups'].count(g)
            for g in ('frequent', 'common', 'rare')] == [90, 30, 30]
    assert table['prior_image_counts'][:3] == [11664, 6046, 8265]
    assert 'mIoU_frequent' in metrics, metrics
