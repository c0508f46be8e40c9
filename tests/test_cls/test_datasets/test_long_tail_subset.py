"""LongTailSubset: a long-tailed subset of any dataset."""
import numpy as np
from mmpretrain.registry import DATASETS

from mil_seg.cls.datasets import get_class_counts, long_tail_counts


def test_long_tail_subset(tmp_path, make_image_folder):
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
