import os.path as osp

import numpy as np
import pytest
from mmpretrain.registry import DATASETS, TRANSFORMS

from mil_seg.cls.datasets import (get_class_counts, long_tail_counts,
                                  select_long_tail)


def test_long_tail_counts_follow_the_profile():
    counts = long_tail_counts(10, 5000, 100)
    assert counts == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    assert sum(long_tail_counts(100, 500, 100)) == 10847  # CIFAR-100-LT
    for c, n in enumerate(long_tail_counts(100, 500, 50)):
        assert n == int(500 * 50**(-c / 99))
    assert long_tail_counts(4, 10, 2, profile='step') == [10, 10, 5, 5]
    assert long_tail_counts(3, 2, 100) == [2, 1, 1]  # floor of 1
    with pytest.raises(ValueError):
        long_tail_counts(3, 10, 0.5)


def test_select_long_tail_is_deterministic():
    labels = np.repeat(np.arange(3), 10)
    a = select_long_tail(labels, [10, 4, 1], seed=0)
    assert np.array_equal(a, select_long_tail(labels, [10, 4, 1], seed=0))
    assert np.bincount(labels[a]).tolist() == [10, 4, 1]
    assert not np.array_equal(a, select_long_tail(labels, [10, 4, 1], 1))
    with pytest.raises(ValueError):
        select_long_tail(labels, [11, 1, 1])


@pytest.mark.parametrize('num_classes', [10, 100])
def test_cifar_lt(tmp_path, num_classes, make_cifar):
    per_class = 20 if num_classes == 10 else 5
    root = make_cifar(str(tmp_path), num_classes, per_class)
    cfg = dict(
        type=f'CIFAR{num_classes}LT',
        data_root=root,
        imbalance_factor=10,
        check_md5=False,
        download=False)
    train = DATASETS.build(cfg)
    expected = long_tail_counts(num_classes, per_class, 10)
    assert train.get_class_counts() == expected
    assert train.metainfo['class_counts'] == expected
    assert get_class_counts(train) == expected
    assert len(train) == sum(expected)
    again = DATASETS.build(cfg)
    assert all(
        np.array_equal(train[i]['img'], again[i]['img'])
        for i in range(0, len(train), 7))
    assert train[3]['sample_idx'] == 3
    test = DATASETS.build(dict(cfg, split='test'))
    assert test.get_class_counts() == [2] * num_classes


def test_long_tail_subset_and_lists(tmp_path, make_image_folder):
    classes = ['a', 'b', 'c', 'd']
    root = make_image_folder(str(tmp_path / 'train'), classes, 8, size=8)
    subset = DATASETS.build(
        dict(
            type='LongTailSubset',
            dataset=dict(
                type='CustomDataset',
                data_root=root,
                pipeline=[dict(type='LoadImageFromFile')]),
            imbalance_factor=8,
            seed=0))
    expected = long_tail_counts(4, 8, 8)
    assert subset.get_class_counts() == expected == [8, 4, 2, 1]
    assert get_class_counts(subset) == expected
    assert len(subset) == 15
    assert np.bincount(subset.get_gt_labels()).tolist() == expected
    paths = {subset[i]['img_path'] for i in range(len(subset))}
    assert len(paths) == 15

    # ImageNet-LT / iNaturalist style lists: "path label".
    lines = [f'train/{c}/{i:04d}.jpg {k}' for k, c in enumerate(classes)
             for i in range(k + 1)]
    with open(tmp_path / 'list.txt', 'w') as f:
        f.write('\n'.join(lines) + '\n')
    lt = DATASETS.build(
        dict(
            type='INaturalist2018',
            data_root=str(tmp_path),
            ann_file='list.txt',
            num_classes=5))
    assert lt.get_class_counts() == [1, 2, 3, 4, 0]
    assert osp.isfile(lt.get_data_info(0)['img_path'])
    inet = DATASETS.build(
        dict(type='ImageNetLT', data_root=str(tmp_path), ann_file='list.txt'))
    assert len(inet.get_class_counts()) == 1000


def test_torch_auto_augment():
    transform = TRANSFORMS.build(dict(type='TorchAutoAugment'))
    img = np.random.RandomState(0).randint(0, 256, (32, 32, 3), np.uint8)
    out = transform(dict(img=img.copy()))['img']
    assert out.shape == img.shape and out.dtype == np.uint8
