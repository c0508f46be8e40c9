"""tools/analysis: compute_class_prior.py, plot_class_iou.py and
posthoc_tau_sweep.py (against tools/test.py), in subprocesses."""
import json
import os.path as osp

import numpy as np
import pytest
from PIL import Image

import mil_seg  # noqa: F401
from mil_seg.gml import ClassPrior
from mil_seg.seg.datasets import generate_synthetic_lt_dataset
from ..tool_runner import ROOT as REPO
from ..tool_runner import run_tool

CONFIG = """
custom_imports = dict(imports=['mil_seg'], allow_failed_imports=False)
default_scope = 'mmseg'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomCrop', crop_size=(8, 8)),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=2,
    dataset=dict(
        type='RepeatDataset',
        times=3,
        dataset=dict(
            type='SyntheticLTDataset',
            data_root={root!r},
            reduce_zero_label={rzl},
            data_prefix=dict(
                img_path='img_dir/train', seg_map_path='ann_dir/train'),
            pipeline=train_pipeline)))
"""


def _run(*args):
    proc = run_tool(*args, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


def _direct_counts(root, num, num_classes, reduce_zero_label):
    pixels = np.zeros(num_classes, dtype=np.int64)
    images = np.zeros(num_classes, dtype=np.int64)
    for i in range(num):
        label = np.array(Image.open(
            osp.join(root, f'ann_dir/train/{i:05d}.png'))).astype(np.int64)
        if reduce_zero_label:
            label = np.where(label == 0, 255, label - 1)
        label = label[label != 255]
        hist = np.bincount(label, minlength=num_classes)[:num_classes]
        pixels += hist
        images += hist > 0
    return pixels, images


@pytest.mark.parametrize('reduce_zero_label', [False, True])
def test_compute_class_prior_tool(tmp_path, reduce_zero_label):
    root = str(tmp_path / 'data')
    generate_synthetic_lt_dataset(
        root, num_train=7, num_val=1, image_size=(16, 20), num_classes=5)
    # some ignored pixels
    ann = osp.join(root, 'ann_dir/train/00000.png')
    label = np.array(Image.open(ann))
    label[:2] = 255
    Image.fromarray(label).save(ann)
    cfg_file = tmp_path / 'cfg.py'
    cfg_file.write_text(CONFIG.format(root=root, rzl=reduce_zero_label))
    out = tmp_path / 'prior.json'
    _run('tools/analysis/compute_class_prior.py', str(cfg_file), '--out',
         str(out), '--workers', '2')
    pixels, images = _direct_counts(root, 7, 5, reduce_zero_label)
    prior = ClassPrior.read_file(str(out))
    assert prior['counts'] == pixels.tolist()
    assert prior['count_type'] == 'pixel'
    assert prior['image_counts'] == images.tolist()
    assert prior['num_samples'] == 7  # RepeatDataset unwrapped
    assert len(prior['classes']) == 5
    out_img = tmp_path / 'prior_image.json'
    _run('tools/analysis/compute_class_prior.py', str(cfg_file), '--out',
         str(out_img), '--count-type', 'image')
    prior = ClassPrior.read_file(str(out_img))
    assert prior['counts'] == images.tolist()
    assert prior['count_type'] == 'image'
    assert prior['image_counts'] == images.tolist()


def _result(path, iou, groups):
    content = dict(
        classes=['a', 'b', 'c'],
        per_class=dict(IoU=iou, Acc=iou),
        groups=groups,
        prior_counts=[70, 25, 5],
        metrics=dict(mIoU=50.0))
    path.write_text(json.dumps(content))
    return str(path)


def test_plot_class_iou_tool(tmp_path):
    r1 = _result(tmp_path / 'ce.json', [90.0, 40.0, 0.0],
                 ['head', 'body', 'tail'])
    r2 = _result(tmp_path / 'gml.json', [88.0, 50.0, None],
                 ['head', 'body', 'tail'])
    prior = tmp_path / 'prior.json'
    ClassPrior.write_file(str(prior), [70, 25, 5], classes=['a', 'b', 'c'])
    out = tmp_path / 'plots' / 'class_iou.png'
    _run('tools/analysis/plot_class_iou.py', r1, r2, '--prior', str(prior),
         '--labels', 'CE', 'GML', '--out', str(out))
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    # one result, prior taken from the result file
    out1 = tmp_path / 'one.png'
    _run('tools/analysis/plot_class_iou.py', r1, '--out', str(out1))
    assert out1.stat().st_size > 1000


@pytest.mark.xdist_group('posthoc_sweep')
def test_posthoc_tau_sweep_equals_test_tool_with_posthoc_tau(tmp_path):
    """Each row of the sweep is the metric tools/test.py reports with the
    GML head's own ``posthoc_tau`` (same shipped CamVid prior)."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    config = osp.join(REPO, 'configs', 'gml_seg',
                      'fcn-gml_r18-tiny-d8_1xb8-1k_camvid-240x180.py')
    rng = np.random.default_rng(0)
    root = tmp_path / 'camvid'
    for kind in ('img_dir', 'ann_dir'):
        (root / kind / 'val').mkdir(parents=True)
    for i in range(3):
        image = rng.integers(0, 256, (36, 48, 3), dtype=np.uint8)
        label = np.kron(rng.integers(0, 12, (9, 12)),
                        np.ones((4, 4))).astype(np.uint8)
        label[label == 11] = 255
        Image.fromarray(image).save(root / 'img_dir' / 'val' / f'{i}.png')
        Image.fromarray(label).save(root / 'ann_dir' / 'val' / f'{i}.png')
    # An untrained model: the prior term decides many pixels, so every
    # tau predicts differently.
    init_default_scope('mmseg')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(config).model.to_dict())
    checkpoint = str(tmp_path / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), checkpoint)
    options = [
        '--cfg-options', f'test_dataloader.dataset.data_root={root}',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False'
    ]
    sweep_out = tmp_path / 'sweep.json'
    result = _run('tools/analysis/posthoc_tau_sweep.py', config, checkpoint,
                  '--taus', '0', '-0.5', '0.5', '--work-dir',
                  str(tmp_path / 'sweep'), '--out', str(sweep_out), *options)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {row['tau']: row for row in json.loads(sweep_out.read_text())}
    assert '| -0.5 |' in result.stdout
    for tau in (0.0, -0.5, 0.5):
        out = tmp_path / f'test_{tau}.json'
        result = _run('tools/test.py', config, checkpoint, '--work-dir',
                      str(tmp_path / f'test_{tau}'), '--out', str(out),
                      *options, f'model.decode_head.posthoc_tau={tau}')
        assert result.returncode == 0, result.stderr[-3000:]
        expected = json.loads(out.read_text())
        for key in ('mIoU', 'mIoU_tail', 'aAcc'):
            assert rows[tau][key] == pytest.approx(expected[key]), (tau, key)
    assert rows[-0.5]['aAcc'] != rows[0.5]['aAcc']

    # --prior replaces the evaluator's prior: a uniform one shifts every
    # class by the same constant, so every tau predicts as tau = 0 does.
    uniform = tmp_path / 'uniform.json'
    uniform.write_text(json.dumps(dict(counts=[1] * 11)))
    uniform_out = tmp_path / 'sweep_uniform.json'
    _run('tools/analysis/posthoc_tau_sweep.py', config, checkpoint, '--taus',
         '0', '-0.5', '0.5', '--prior', str(uniform), '--work-dir',
         str(tmp_path / 'sweep_uniform'), '--out', str(uniform_out), *options)
    uniform_rows = json.loads(uniform_out.read_text())
    for row in uniform_rows:
        assert row['aAcc'] == pytest.approx(rows[0.0]['aAcc']), row['tau']
        assert row['mIoU'] == pytest.approx(rows[0.0]['mIoU']), row['tau']
