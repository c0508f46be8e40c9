"""Every classification config trains two iterations on generated data."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmpretrain.registry import MODELS

CONFIG_DIR = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
    'gml_cls')
CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))


def test_configs_found():
    names = [osp.basename(c) for c in CONFIGS]
    for prefix in ('ce_', 'la_', 'gml-teacher_', 'gml-ema_', 'gml_'):
        for dataset in ('cifar100lt-r100', 'cifar100lt-r50',
                        'cifar100lt-r10', 'cifar10lt-r100', 'imagenetlt'):
            assert any(n.startswith(prefix) and dataset in n
                       for n in names), (prefix, dataset)
    for prefix in ('ce_', 'la_', 'gml-ema_'):
        assert any(n.startswith(prefix) and 'inat2018' in n for n in names)


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory, make_cifar, make_image_folder):
    root = tmp_path_factory.mktemp('cls_data')
    data = dict(
        cifar100=make_cifar(
            str(root / 'cifar100'), 100, 2, test_per_class=1),
        cifar10=str(root / 'cifar10'),
        imagenet=str(root / 'imagenet'))
    classes = [f'class{i}' for i in range(10)]
    make_image_folder(
        osp.join(data['cifar10'], 'train'), classes, [6] * 10, size=32)
    make_image_folder(
        osp.join(data['cifar10'], 'val'), classes, [1] * 10, size=32)
    # ImageNet-LT style lists over 4 of the 1000 classes
    for split, per_class in (('train', [4, 3, 2, 1]), ('test', [1] * 4)):
        folders = [f'{split}/n{k:08d}' for k in range(4)]
        lines = []
        for k, (folder, n) in enumerate(zip(folders, per_class)):
            make_image_folder(
                osp.join(data['imagenet'], osp.dirname(folder)),
                [osp.basename(folder)], [n], size=40, seed=k)
            lines += [f'{folder}/{i:04d}.jpg {k}' for i in range(n)]
        with open(
                osp.join(data['imagenet'], f'ImageNet_LT_{split}.txt'),
                'w') as f:
            f.write('\n'.join(lines) + '\n')
    return data


def _walk(node, fn):
    if isinstance(node, dict):
        fn(node)
        for value in node.values():
            _walk(value, fn)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _walk(value, fn)


def _shrink(node):
    """Make a pipeline / model piece CPU-test sized, keeping its structure."""
    kind = node.get('type')
    if kind == 'RandomResizedCrop':
        node['scale'] = 32
    elif kind == 'ResizeEdge':
        node['scale'] = 36
    elif kind == 'CenterCrop':
        node['crop_size'] = 32
    elif kind == 'ResNeXt' and node.get('depth') == 101:
        node['depth'] = 50  # ResNeXt-101 teachers: same family, fewer blocks
    elif kind == 'GMLClsHead' and 'queue' in node:
        node['queue']['size'] = node['num_classes'] * node['queue'].get(
            'base_size', 2) + 32


def tiny_config(path, data, work_dir):
    cfg = Config.fromfile(path)
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2,
                         val_interval=2)
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    for name, batch in (('train_dataloader', 4), ('val_dataloader', 8),
                        ('test_dataloader', 8)):
        loader = cfg[name]
        loader.batch_size = batch
        loader.num_workers = 0
        loader.persistent_workers = False
        dataset = loader.dataset
        if dataset.type in ('CIFAR100LT', 'CIFAR10LT'):
            dataset.data_root = data['cifar100']
            dataset.check_md5 = False
            dataset.download = False
        elif dataset.type == 'LongTailSubset':
            dataset.dataset.data_root = data['cifar10']
        elif dataset.type == 'CustomDataset':
            dataset.data_root = data['cifar10']
        elif dataset.type == 'ImageNetLT':
            dataset.data_root = data['imagenet']
        elif dataset.type == 'INaturalist2018':
            dataset.data_root = data['imagenet']
            dataset.ann_file = 'ImageNet_LT_train.txt' if \
                name == 'train_dataloader' else 'ImageNet_LT_test.txt'
        else:
            raise AssertionError(f'unexpected dataset {dataset.type}')
        if name != 'train_dataloader':
            dataset.indices = 8  # the first 8 evaluation images
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader',
                'model'):
        _walk(cfg[key], _shrink)
    return cfg


def _teacher_config_of(cfg):
    """The stage-1 config named by a student's teacher checkpoint path."""
    ckpt = cfg.model.teacher.checkpoint
    return osp.join(CONFIG_DIR, osp.basename(osp.dirname(ckpt)) + '.py')


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.basename(p))
def test_config_trains_two_iterations(path, tiny_data, tmp_path):
    torch.manual_seed(0)
    cfg = tiny_config(path, tiny_data, str(tmp_path / 'work'))
    if cfg.model.get('teacher') is not None:
        # The teacher sub-config is the stage-1 config's model.
        stage1 = Config.fromfile(_teacher_config_of(cfg)).model
        teacher = {k: v for k, v in cfg.model.teacher.items()
                   if k != 'checkpoint'}
        stage1_model = tiny_config(
            _teacher_config_of(cfg), tiny_data, str(tmp_path / 'stage1'))
        assert teacher['type'] == stage1.type
        for key in ('backbone', 'neck', 'head'):
            assert teacher[key] == stage1_model.model[key], key
        # A stage-1 checkpoint of that model.
        model = MODELS.build(stage1_model.model)
        ckpt = str(tmp_path / 'teacher.pth')
        torch.save(dict(state_dict=model.state_dict()), ckpt)
        cfg.model.teacher.checkpoint = ckpt
    runner = Runner.from_cfg(cfg)
    runner.train()
    logs = runner.message_hub.log_scalars
    assert np.isfinite(logs['train/loss'].current())
    if cfg.model.type == 'GMLClassifier':
        assert 'train/loss_con' in logs
    metrics = runner.val_loop.evaluator.metrics
    assert metrics[0].class_counts is not None  # filled by ClassCountsHook
    assert 'lt/top1' in runner.message_hub.runtime_info or any(
        k.startswith('val/lt/top1') for k in logs)
