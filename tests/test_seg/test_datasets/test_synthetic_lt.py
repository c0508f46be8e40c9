"""SyntheticLTDataset: generates its data, reads its classes from
meta.json."""
import json
import os.path as osp

import numpy as np
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS
from PIL import Image

import mil_seg  # noqa: F401
from mil_seg.seg.datasets import SyntheticLTDataset

SMALL = dict(num_train=6, num_val=3, image_size=(24, 32))


def test_synthetic_dataset_loads(tmp_path):
    root = str(tmp_path / 'data')
    init_default_scope('mmseg')
    cfg = dict(
        type='SyntheticLTDataset',
        data_root=root,
        auto_generate=True,
        generate_cfg=dict(SMALL, num_classes=10),
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations')])
    dataset = DATASETS.build(cfg)  # generates the data first
    assert isinstance(dataset, SyntheticLTDataset)
    assert len(dataset) == 3
    with open(osp.join(root, 'meta.json')) as f:
        meta = json.load(f)
    # 10 classes from meta.json (more than the default 8): no remapping
    assert list(dataset.metainfo['classes']) == meta['classes']
    assert len(dataset.metainfo['classes']) == 10
    assert dataset.label_map is None
    results = dataset[0]
    assert results['img'].shape == (24, 32, 3)
    label = np.array(Image.open(osp.join(root, 'ann_dir/val/00000.png')))
    np.testing.assert_array_equal(results['gt_seg_map'], label)
    # without meta.json and auto_generate: the default 8 classes
    empty = tmp_path / 'empty'
    (empty / 'img_dir/val').mkdir(parents=True)
    (empty / 'ann_dir/val').mkdir(parents=True)
    dataset = DATASETS.build(
        dict(cfg, data_root=str(empty), auto_generate=False, lazy_init=True))
    assert not (empty / 'meta.json').exists()
    assert len(dataset.metainfo['classes']) == 8
