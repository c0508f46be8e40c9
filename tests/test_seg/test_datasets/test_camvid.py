import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

import mil_seg  # noqa: F401
from mil_seg.seg.datasets import CamVidDataset, convert_camvid
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS


def _make_segnet_layout(root, with_lists, rng):
    """A tiny SegNet-layout CamVid: train 3, val 2, test 1 pairs."""
    pairs = {}
    for split, num in (('train', 3), ('val', 2), ('test', 1)):
        os.makedirs(osp.join(root, split))
        os.makedirs(osp.join(root, f'{split}annot'))
        lines = []
        for i in range(num):
            name = f'0001TP_{split}{i:03d}.png'
            img = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
            label = rng.integers(0, 12, (6, 8), dtype=np.uint8)
            label[0, 0] = 11  # at least one unlabelled pixel
            Image.fromarray(img).save(osp.join(root, split, name))
            Image.fromarray(label).save(
                osp.join(root, f'{split}annot', name))
            pairs[(split, name)] = (img, label)
            # the public lists hold absolute paths of the authors' machine
            lines.append(f'/SegNet/CamVid/{split}/{name} '
                         f'/SegNet/CamVid/{split}annot/{name}\n')
        if with_lists:
            with open(osp.join(root, f'{split}.txt'), 'w') as f:
                f.writelines(lines)
    return pairs


@pytest.mark.parametrize('with_lists', [True, False])
def test_convert_camvid(tmp_path, with_lists):
    src, dst = str(tmp_path / 'segnet'), str(tmp_path / 'camvid')
    pairs = _make_segnet_layout(src, with_lists, np.random.default_rng(0))
    done = convert_camvid(src, dst)
    assert done == dict(train=3, val=2, test=1)
    for (split, name), (img, label) in pairs.items():
        out_img = np.array(Image.open(osp.join(dst, 'img_dir', split, name)))
        out_ann = np.array(Image.open(osp.join(dst, 'ann_dir', split, name)))
        np.testing.assert_array_equal(out_img, img)  # pairs preserved
        expected = label.copy()
        expected[label == 11] = 255
        np.testing.assert_array_equal(out_ann, expected)
        assert out_ann.dtype == np.uint8 and out_ann.ndim == 2


def test_convert_camvid_missing_annotation(tmp_path):
    src = str(tmp_path / 'segnet')
    _make_segnet_layout(src, True, np.random.default_rng(0))
    os.remove(osp.join(src, 'valannot', '0001TP_val000.png'))
    with pytest.raises(FileNotFoundError, match='val000'):
        convert_camvid(src, str(tmp_path / 'out'), splits=['val'])


def test_camvid_dataset_loads_converted(tmp_path):
    src, dst = str(tmp_path / 'segnet'), str(tmp_path / 'camvid')
    pairs = _make_segnet_layout(src, True, np.random.default_rng(1))
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


def test_ade20k_style_reduce_zero_label(tmp_path):
    """The ADE20K layout: jpg images, 0 = unlabelled, reduce_zero_label."""
    rng = np.random.default_rng(0)
    root = tmp_path / 'ade'
    for sub in ('images/training', 'annotations/training'):
        (root / sub).mkdir(parents=True)
    label = rng.integers(0, 4, (5, 7), dtype=np.uint8)
    Image.fromarray(rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)).save(
        root / 'images/training/ADE_train_00000001.jpg')
    Image.fromarray(label).save(
        root / 'annotations/training/ADE_train_00000001.png')
    init_default_scope('mmseg')
    dataset = DATASETS.build(
        dict(
            type='ADE20KDataset',
            data_root=str(root),
            data_prefix=dict(
                img_path='images/training',
                seg_map_path='annotations/training'),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', reduce_zero_label=True)
            ]))
    gt = dataset[0]['gt_seg_map']
    expected = label.astype(np.int64) - 1
    expected[label == 0] = 255
    np.testing.assert_array_equal(gt, expected)
