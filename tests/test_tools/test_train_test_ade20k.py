"""tools/train.py and tools/test.py on generated ADE20K-layout data: the
DeepLabV3+ GML config (mmseg's ADE20K pipeline with reduce_zero_label),
shrunk to tiny images, trains, checkpoints and evaluates."""
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

import mil_seg  # noqa: F401  (allow-lists mmengine types for torch.load)

from ..tool_runner import ROOT, run_tool

CONFIG = osp.join(ROOT, 'configs', 'gml_seg',
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


def test_deeplabv3plus_gml_trains_and_tests_on_ade20k_layout(
        ade_root, tmp_path):
    work_dir = str(tmp_path / 'work')
    result = run_tool('tools/train.py', CONFIG, '--work-dir', work_dir,
                      *tiny_options(ade_root))
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
    result = run_tool('tools/test.py', CONFIG, checkpoint, '--work-dir',
                      str(tmp_path / 'test'), '--out', out,
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
