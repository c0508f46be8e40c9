"""RepeatFactorDataset: LVIS repeat factors of a hand-made dataset, checked
by hand, and the listed images they give."""
import math
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

import mil_seg  # noqa: F401  (registration)
from mil_seg.launch import UserError
from mil_seg.seg.datasets import (RepeatFactorDataset, repeat_factors,
                                  repeated_indices)

# classes present in each of the 4 training images (255: unlabelled)
IMAGE_CLASSES = [(0, ), (0, 1), (0, ), (0, 2, 255)]


@pytest.fixture
def camvid_cfg(tmp_path):
    root = str(tmp_path)
    for folder in ('img_dir/train', 'ann_dir/train'):
        os.makedirs(osp.join(root, folder))
    for i, classes in enumerate(IMAGE_CLASSES):
        label = np.full((4, 6), classes[0], dtype=np.uint8)
        for k, c in enumerate(classes[1:]):
            label[k + 1] = c
        image = np.zeros((4, 6, 3), dtype=np.uint8)
        cv2.imwrite(osp.join(root, 'img_dir/train', f'{i}.png'), image)
        cv2.imwrite(osp.join(root, 'ann_dir/train', f'{i}.png'), label)
    init_default_scope('mmseg')
    return dict(
        type='CamVidDataset',
        data_root=root,
        data_prefix=dict(img_path='img_dir/train',
                         seg_map_path='ann_dir/train'),
        pipeline=[dict(type='LoadImageFromFile'),
                  dict(type='LoadAnnotations'),
                  dict(type='PackSegInputs')])


def test_repeat_factors_by_hand():
    presence = np.zeros((4, 3), dtype=bool)
    for i, classes in enumerate(IMAGE_CLASSES):
        presence[i, [c for c in classes if c < 3]] = True
    # f = (1, 1/4, 1/4); t = 1/2: r_c = (1, sqrt 2, sqrt 2)
    np.testing.assert_allclose(
        repeat_factors(presence, 0.5), [1, math.sqrt(2), 1, math.sqrt(2)])
    # t = 1: r_c = (1, 2, 2)
    np.testing.assert_allclose(repeat_factors(presence, 1.0), [1, 2, 1, 2])
    np.testing.assert_allclose(repeat_factors(presence, 0.0), [1, 1, 1, 1])
    # an image without labelled pixels repeats once
    assert repeat_factors(np.zeros((2, 3), dtype=bool), 1.0).tolist() == \
        [1.0, 1.0]


def test_wrapper_reads_the_label_maps_and_lists_images(camvid_cfg):
    wrapped = DATASETS.build(
        dict(type='RepeatFactorDataset', dataset=camvid_cfg, threshold=1.0))
    assert isinstance(wrapped, RepeatFactorDataset)
    assert wrapped.presence[:, :3].tolist() == [
        [True, False, False], [True, True, False], [True, False, False],
        [True, False, True]]
    assert not wrapped.presence[:, 3:].any()
    np.testing.assert_allclose(wrapped.repeat_factors, [1, 2, 1, 2])
    # integer factors: no rounding draw
    assert sorted(wrapped.indices.tolist()) == [0, 1, 1, 2, 3, 3]
    assert len(wrapped) == 6
    assert wrapped.metainfo['classes'][0] == 'sky'
    sample = wrapped[1]
    assert sample['data_samples'].img_path.endswith('1.png')
    assert wrapped.get_data_info(2)['img_path'].endswith('1.png')


def test_stochastic_rounding_keeps_the_expected_count():
    factors = np.array([1.0, math.sqrt(2), 1.0, math.sqrt(2)])
    lengths = []
    for seed in range(400):
        indices = repeated_indices(factors, seed)
        counts = np.bincount(indices, minlength=4)
        assert counts[0] == counts[2] == 1
        assert set(counts[[1, 3]].tolist()) <= {1, 2}
        lengths.append(len(indices))
    # E[len] = 2 + 2 sqrt 2
    assert np.mean(lengths) == pytest.approx(2 + 2 * math.sqrt(2), abs=0.1)
    assert repeated_indices(factors, 3).tolist() == \
        repeated_indices(factors, 3).tolist()


def test_bad_arguments_name_the_fix(camvid_cfg):
    with pytest.raises(UserError, match='threshold must be in'):
        RepeatFactorDataset(camvid_cfg, threshold=2.0)
    with pytest.raises(UserError, match='as a config dict'):
        RepeatFactorDataset(DATASETS.build(camvid_cfg), threshold=0.5)


def test_every_threshold_the_tuning_can_try_is_accepted(camvid_cfg):
    """The benchmark widens RFS's grid past a chosen edge: every value it
    can reach is a threshold the wrapper takes (1.25 once stopped a
    verdict)."""
    from mil_seg.benchmark.methods import METHODS
    from mil_seg.benchmark.tuning import past_edge
    knob = METHODS['rfs'].knob
    reached = []
    for chosen in (min(knob.values), max(knob.values)):
        tried = list(knob.values)
        for _ in range(5):
            value = past_edge(tried, chosen, knob.bounds)
            if value is None:
                break
            reached.append(value)
            tried.append(value)
            chosen = value
    assert min(reached) > 0  # the low edge widens toward 0
    for threshold in reached + list(knob.values):
        RepeatFactorDataset(dataset=camvid_cfg, threshold=threshold)
