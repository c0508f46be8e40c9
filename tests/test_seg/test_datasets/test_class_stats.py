"""class_stats: the annotation-only dataset config of the class-count
tools."""
from mil_seg.seg.datasets import annotation_only_dataset_cfg


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
