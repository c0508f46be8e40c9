"""The launchers on a classification (mmpretrain) config: train a GML
classifier on generated image folders, evaluate and resume it."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

import mil_seg  # noqa: F401  (weights_only allow-list for torch.load)

from ..tool_runner import ROOT, run_tool

CONFIG = osp.join(ROOT, 'configs', 'gml_cls',
                  'gml-ema_resnet32_1xb128-200e_cifar10lt-r100.py')


@pytest.fixture(scope='module')
def image_folders(tmp_path_factory):
    root = tmp_path_factory.mktemp('cifar10_folders')
    rng = np.random.default_rng(0)
    for split, per_class in (('train', 8), ('val', 2)):
        for k in range(10):
            folder = root / split / f'class{k}'
            folder.mkdir(parents=True)
            for i in range(per_class):
                image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                cv2.imwrite(str(folder / f'{i:03d}.jpg'), image)
    return str(root)


def options(data_root, max_epochs):
    return ['--cfg-options',
            f'train_dataloader.dataset.dataset.data_root={data_root}',
            f'val_dataloader.dataset.data_root={data_root}',
            f'test_dataloader.dataset.data_root={data_root}',
            'train_dataloader.batch_size=8', 'train_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False',
            'val_dataloader.batch_size=8', 'val_dataloader.num_workers=0',
            'test_dataloader.batch_size=8', 'test_dataloader.num_workers=0',
            f'train_cfg.max_epochs={max_epochs}', 'train_cfg.val_interval=1',
            'default_hooks.checkpoint.interval=1',
            'default_hooks.logger.interval=1']


@pytest.fixture(scope='module')
def trained(image_folders, tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('cls_work'))
    result = run_tool('tools/train.py', CONFIG, '--work-dir', work_dir,
                      *options(image_folders, 1))
    assert result.returncode == 0, result.stderr[-4000:]
    return work_dir


def test_classification_train_and_test(trained, image_folders, tmp_path):
    checkpoint = osp.join(trained, 'epoch_1.pth')
    state = torch.load(checkpoint, map_location='cpu')  # weights_only
    assert any('queue' in key for key in state['state_dict'])
    out = tmp_path / 'metrics.json'
    result = run_tool('tools/test.py', CONFIG, checkpoint, '--work-dir',
                      str(tmp_path), '--out', str(out),
                      *options(image_folders, 1))
    assert result.returncode == 0, result.stderr[-4000:]
    metrics = json.loads(out.read_text())
    assert 0.0 <= metrics['lt/top1'] <= 100.0


def test_classification_resume(trained, image_folders):
    result = run_tool('tools/train.py', CONFIG, '--work-dir', trained,
                      '--resume', *options(image_folders, 2))
    assert result.returncode == 0, result.stderr[-4000:]
    assert 'resumed' in (result.stdout + result.stderr).lower()
    state = torch.load(osp.join(trained, 'epoch_2.pth'), map_location='cpu')
    assert state['meta']['epoch'] == 2


def test_student_without_teacher_checkpoint_is_one_clear_line(
        image_folders, tmp_path):
    student = osp.join(ROOT, 'configs', 'gml_cls',
                       'gml_resnet32-resnet56_1xb128-200e_cifar10lt-r100.py')
    result = run_tool('tools/train.py', student, '--work-dir', str(tmp_path),
                      *options(image_folders, 1),
                      f'model.teacher.checkpoint={tmp_path}/missing.pth')
    assert result.returncode == 2, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr
    errors = [line for line in result.stderr.splitlines()
              if line.startswith('error:')]
    assert len(errors) == 1
    assert 'teacher checkpoint' in errors[0]
    assert 'missing.pth' in errors[0]
