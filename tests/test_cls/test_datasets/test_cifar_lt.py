"""CIFAR10LT / CIFAR100LT on fake CIFAR batches."""
import numpy as np
import pytest
from mmpretrain.registry import DATASETS

from mil_seg.cls.datasets import get_class_counts, long_tail_counts


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
