"""CCPDataset on a converted fake release, and the shipped CCP prior."""
import os.path as osp

import numpy as np
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

import mil_seg  # noqa: F401
from mil_seg.gml import ClassPrior, build_class_prior
from mil_seg.gml.groups import class_groups
from mil_seg.seg.datasets import CCP_CLASSES, CCPDataset, convert_ccp
from .ccp_release import SPLIT, make_ccp_release


def build_dataset(data_root, split='train'):
    init_default_scope('mmseg')
    return DATASETS.build(
        dict(
            type='CCPDataset',
            data_root=data_root,
            data_prefix=dict(
                img_path=f'img_dir/{split}', seg_map_path=f'ann_dir/{split}'),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations')
            ]))


def test_ccp_dataset_loads_converted(tmp_path):
    src, dst = str(tmp_path / 'release'), str(tmp_path / 'ccp')
    pairs = make_ccp_release(src, np.random.default_rng(2))
    convert_ccp(src, dst, osp.join(src, 'split.json'), scale=1,
                show_progress=False)
    dataset = build_dataset(dst)
    assert isinstance(dataset, CCPDataset)
    assert len(dataset) == len(SPLIT['train'])
    assert dataset.metainfo['classes'] == CCP_CLASSES
    assert len(CCP_CLASSES) == 59 and CCP_CLASSES[0] == 'null'
    for index in range(len(dataset)):
        results = dataset[index]
        name = osp.splitext(osp.basename(results['seg_map_path']))[0]
        gt = results['gt_seg_map']
        assert results['img'].shape == (18, 12, 3)
        # every pixel labelled, id 0 (null) kept: reduce_zero_label is off
        assert gt.min() >= 0 and gt.max() <= 58 and gt.max() == 58
        assert (gt == 0).any()
        np.testing.assert_array_equal(gt, pairs[name][1])
    assert len(build_dataset(dst, 'val')) == len(SPLIT['val'])


def test_palette_has_distinct_colours():
    palette = CCPDataset.METAINFO['palette']
    assert len(palette) == 59 and palette[0] == [0, 0, 0]
    assert len({tuple(c) for c in palette}) == 59
    assert all(0 <= v <= 255 for c in palette for v in c)


def test_shipped_prior_loads_by_name():
    prior = build_class_prior('ccp')
    assert prior.num_classes == 59 and prior.has_image_counts
    content = ClassPrior.read_file(ClassPrior.resolve_file('ccp'))
    assert tuple(content['classes']) == CCP_CLASSES
    assert content['count_type'] == 'pixel'
    assert content['num_samples'] == 600  # the train split of split.json
    counts = np.array(content['counts'])
    images = np.array(content['image_counts'])
    assert counts.argmax() == 0  # null, the background
    assert images.max() <= 600 and images[0] == 600
    # classes without a train pixel have no image either; both group rules
    # place them last (tail, rare)
    assert ((counts == 0) == (images == 0)).all()
    zero = counts == 0
    assert zero.any()
    assert (class_groups(counts)[zero] == 2).all()
    rare = class_groups(images, 'rank', (0.6, 0.8))
    assert (rare[zero] == 2).all()
    assert np.bincount(rare, minlength=3).tolist() == [36, 12, 11]
