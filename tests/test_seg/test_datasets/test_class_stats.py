"""class_stats: the annotation-only dataset config of the class-count
tools, and the prior file they write."""
import numpy as np

from mil_seg.gml import ClassPrior
from mil_seg.seg.datasets import (annotation_only_dataset_cfg,
                                  write_class_prior)


def test_annotation_only_dataset_cfg():
    cfg = dict(
        type='RepeatDataset',
        times=2,
        dataset=dict(
            type='X',
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', reduce_zero_label=True),
                dict(type='RandomFlip', prob=0.5)
            ]))
    out = annotation_only_dataset_cfg(cfg)
    assert out['type'] == 'X'
    assert out['pipeline'] == [
        dict(type='LoadAnnotations', reduce_zero_label=True)
    ]
    assert len(cfg['dataset']['pipeline']) == 3  # input untouched


def test_write_class_prior_writes_pixel_and_image_counts(tmp_path):
    stats = dict(
        classes=['a', 'b', 'c'],
        pixel_counts=np.array([900, 80, 20]),
        image_counts=np.array([10, 7, 2]),
        num_samples=10,
        num_out_of_range=0)
    for count_type, counts in (('pixel', [900, 80, 20]), ('image',
                                                          [10, 7, 2])):
        path = str(tmp_path / f'{count_type}.json')
        write_class_prior(path, stats, count_type)
        prior = ClassPrior.read_file(path)
        assert prior['counts'] == counts
        assert prior['count_type'] == count_type
        assert prior['image_counts'] == [10, 7, 2]
        assert prior['num_samples'] == 10
