"""CamVidDataset on converted data."""
import os.path as osp

import numpy as np
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

import mil_seg  # noqa: F401
from mil_seg.seg.datasets import CamVidDataset, convert_camvid
from .segnet_layout import make_segnet_layout


def test_camvid_dataset_loads_converted(tmp_path):
    src, dst = str(tmp_path / 'segnet'), str(tmp_path / 'camvid')
    pairs = make_segnet_layout(src, True, np.random.default_rng(1))
    convert_camvid(src, dst, splits=['train'])
    init_default_scope('mmseg')
    dataset = DATASETS.build(
        dict(
            type='CamVidDataset',
            data_root=dst,
            data_prefix=dict(
                img_path='img_dir/train', seg_map_path='ann_dir/train'),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations')
            ]))
    assert isinstance(dataset, CamVidDataset)
    assert len(dataset) == 3
    assert len(dataset.metainfo['classes']) == 11
    assert dataset.metainfo['classes'][-1] == 'bicyclist'
    results = dataset[0]
    name = osp.basename(results['seg_map_path'])
    label = pairs[('train', name)][1]
    gt = results['gt_seg_map']
    assert results['img'].shape == (6, 8, 3)
    np.testing.assert_array_equal(gt == 255, label == 11)
    np.testing.assert_array_equal(gt[label < 11], label[label < 11])
