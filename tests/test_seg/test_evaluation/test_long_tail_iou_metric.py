"""LongTailIoUMetric: mIoU with head / body / tail and frequent / common /
rare groups."""
import json

import numpy as np
import pytest

import mil_seg  # noqa: F401
from mil_seg.gml import ClassPrior, class_groups
from mil_seg.seg.evaluation import LongTailIoUMetric
from mmseg.registry import METRICS

from ..metric_examples import (CLASSES, PRIOR, evaluate, hand_example,
                               sample)


def test_metric_hand_checked(tmp_path):
    out = tmp_path / 'res' / 'class_iou.json'
    metric = METRICS.build(
        dict(
            type='LongTailIoUMetric',
            prior=dict(type='ClassPrior', counts=PRIOR),
            output_file=str(out)))
    res = evaluate(metric, hand_example())
    iou = np.array([4 / 6, 2 / 4, 2 / 3, 0.0])
    acc = np.array([4 / 5, 2 / 2, 2 / 3, 0.0])
    assert res['aAcc'] == pytest.approx(100 * 8 / 11, abs=0.01)
    assert res['mIoU'] == pytest.approx(100 * iou.mean(), abs=0.01)
    assert res['mAcc'] == pytest.approx(100 * acc.mean(), abs=0.01)
    assert res['mIoU_head'] == pytest.approx(100 * iou[0], abs=0.01)
    assert res['mIoU_body'] == pytest.approx(100 * iou[1:3].mean(), abs=0.01)
    assert res['mIoU_tail'] == pytest.approx(0.0, abs=0.01)
    content = json.loads(out.read_text())
    assert content['classes'] == list(CLASSES)
    assert content['groups'] == ['head', 'body', 'body', 'tail']
    assert content['prior_counts'] == PRIOR
    assert content['gt_pixels'] == [5, 2, 3, 1]
    np.testing.assert_allclose(content['per_class']['IoU'], 100 * iou,
                               atol=0.01)
    assert content['metrics'] == res


def test_metric_nan_semantics_and_empty_group():
    # class 3 ('d', the only tail class) is absent from gt and predictions
    samples = [sample([[0, 1, 2, 2]], [[0, 1, 2, 1]])]
    metric = LongTailIoUMetric(prior=ClassPrior(4, counts=PRIOR))
    res = evaluate(metric, samples)
    iou = np.array([1.0, 0.5, 0.5])  # class 'd' has no IoU (NaN)
    assert res['mIoU'] == pytest.approx(100 * iou.mean(), abs=0.01)
    assert 'mIoU_tail' not in res  # no class with a value: not reported
    assert all(np.isfinite(v) for v in res.values())
    # an empty group (head and body take every class)
    metric = LongTailIoUMetric(
        prior=ClassPrior(4, counts=PRIOR), group_by='rank',
        group_split=(0.5, 1.0))
    res = evaluate(metric, hand_example())
    assert set(res) == {'aAcc', 'mIoU', 'mAcc', 'mIoU_head', 'mIoU_body'}


def test_metric_prior_from_file_and_fallback(tmp_path):
    path = tmp_path / 'prior.json'
    # reversed counts: 'd' is now the head
    ClassPrior.write_file(str(path), PRIOR[::-1], classes=list(CLASSES))
    res = evaluate(LongTailIoUMetric(prior=str(path)), hand_example())
    assert res['mIoU_head'] == pytest.approx(0.0, abs=0.01)
    assert res['mIoU_tail'] == pytest.approx(100 * 4 / 6, abs=0.01)
    # no prior: groups from the evaluated ground truth (5, 2, 3, 1 pixels)
    res = evaluate(LongTailIoUMetric(), hand_example())
    assert res['mIoU_head'] == pytest.approx(100 * 4 / 6, abs=0.01)
    # prior with the wrong number of classes
    ClassPrior.write_file(str(path), [1, 2, 3])
    with pytest.raises(ValueError, match='3 classes'):
        evaluate(LongTailIoUMetric(prior=str(path)), hand_example())


# Training images per class of the hand example's prior, made up: by LVIS's
# thresholds 'd' is frequent, 'b' and 'c' common, 'a' rare.
IMAGES = [3, 40, 12, 200]


def test_metric_frequency_groups_hand_checked(tmp_path):
    out = tmp_path / 'class_iou.json'
    metric = METRICS.build(
        dict(
            type='LongTailIoUMetric',
            prior=dict(type='ClassPrior', counts=PRIOR, image_counts=IMAGES),
            frequency_groups=dict(group_by='count', group_split=(100, 11)),
            output_file=str(out)))
    res = evaluate(metric, hand_example())
    iou = np.array([4 / 6, 2 / 4, 2 / 3, 0.0])
    # the pixel groups are unchanged
    assert res['mIoU_head'] == pytest.approx(100 * iou[0], abs=0.01)
    assert res['mIoU_tail'] == pytest.approx(0.0, abs=0.01)
    assert res['mIoU_frequent'] == pytest.approx(0.0, abs=0.01)
    assert res['mIoU_common'] == pytest.approx(100 * iou[1:3].mean(),
                                               abs=0.01)
    assert res['mIoU_rare'] == pytest.approx(100 * iou[0], abs=0.01)
    content = json.loads(out.read_text())
    assert content['groups'] == ['head', 'body', 'body', 'tail']
    assert content['frequency_groups'] == ['rare', 'common', 'common',
                                           'frequent']
    assert content['frequency_group_by'] == 'count'
    assert content['frequency_group_split'] == [100, 11]
    assert content['prior_counts'] == PRIOR
    assert content['prior_image_counts'] == IMAGES
    assert content['gt_pixels'] == [5, 2, 3, 1]
    # image 1 holds every class, image 2 'a' and 'c'
    assert content['gt_images'] == [2, 1, 2, 1]
    assert content['metrics'] == res


def test_metric_frequency_groups_default_is_ltss_rank_split():
    # dict(): 60 % / 20 % / 20 % of the classes by images; of 4 classes,
    # ranks 0-2 are frequent ('d', 'b', 'c'), rank 3 common ('a'), none rare
    metric = LongTailIoUMetric(
        prior=ClassPrior(4, counts=PRIOR, image_counts=IMAGES),
        frequency_groups=dict())
    assert metric.frequency_groups == dict(group_by='rank',
                                           group_split=(0.6, 0.8))
    res = evaluate(metric, hand_example())
    iou = np.array([4 / 6, 2 / 4, 2 / 3, 0.0])
    assert res['mIoU_frequent'] == pytest.approx(100 * iou[1:].mean(),
                                                 abs=0.01)
    assert res['mIoU_common'] == pytest.approx(100 * iou[0], abs=0.01)
    assert 'mIoU_rare' not in res  # an empty group is left out
    with pytest.raises(ValueError, match='frequency_groups must be'):
        LongTailIoUMetric(frequency_groups=dict(split=(0.6, 0.8)))
    with pytest.raises(ValueError, match='high >= low'):
        LongTailIoUMetric(
            frequency_groups=dict(group_by='count', group_split=(10, 100)))


def test_metric_prior_without_image_counts(tmp_path):
    old = tmp_path / 'old_prior.json'
    ClassPrior.write_file(str(old), PRIOR, classes=list(CLASSES))
    # without frequency groups an old prior file works as before
    out = tmp_path / 'class_iou.json'
    res = evaluate(LongTailIoUMetric(prior=str(old), output_file=str(out)),
                   hand_example())
    assert 'mIoU_tail' in res and 'mIoU_rare' not in res
    content = json.loads(out.read_text())
    assert content['frequency_groups'] is None
    assert content['prior_image_counts'] is None
    # with them: a UserError naming the fix, when the metric is built
    for prior in (str(old), dict(type='ClassPrior', file=str(old)), PRIOR,
                  ClassPrior(4, counts=PRIOR)):
        with pytest.raises(ValueError, match='compute_class_prior.py'):
            LongTailIoUMetric(prior=prior, frequency_groups=dict())
    # no prior at all: both groupings from the evaluated ground truth
    # (images per class 2, 1, 2, 1: 'a' and 'c' frequent, 'b', 'd' rare)
    res = evaluate(
        LongTailIoUMetric(
            frequency_groups=dict(group_by='count', group_split=(1.5, 1.5))),
        hand_example())
    assert res['mIoU_frequent'] == pytest.approx(100 * (4 / 6 + 2 / 3) / 2,
                                                 abs=0.01)
    assert res['mIoU_rare'] == pytest.approx(100 * (2 / 4 + 0) / 2, abs=0.01)


@pytest.mark.parametrize('name', ['ade20k', 'camvid'])
def test_shipped_priors_rank_split_keeps_ties_together(name):
    """The configs' rank split orders tied image counts by class index;
    on the shipped priors no tie straddles a group boundary."""
    images = ClassPrior(file=name).image_counts.numpy()
    groups = class_groups(images, 'rank', (0.6, 0.8))
    for i in range(len(images)):
        for j in range(len(images)):
            if images[i] == images[j]:
                assert groups[i] == groups[j], (i, j)


def test_metric_writes_precision_and_per_image_sums(tmp_path):
    from mil_seg.seg.evaluation.long_tail_iou_metric import sums_path
    out = tmp_path / 'per_class.json'
    metric = LongTailIoUMetric(prior=dict(type='ClassPrior', counts=PRIOR),
                               output_file=str(out))
    samples = hand_example()
    for i, s in enumerate(samples):
        s['img_path'] = f'/data/val/img{i}.png'
    res = evaluate(metric, samples)
    content = json.loads(out.read_text())
    # precision: intersection / predicted area (class 'd' is never
    # predicted: no precision); Acc is mmseg's recall, kept under its name
    np.testing.assert_allclose(content['per_class']['Precision'][:3],
                               [80.0, 50.0, 100.0], atol=0.01)
    assert content['per_class']['Precision'][3] is None
    np.testing.assert_allclose(content['per_class']['Acc'],
                               [80.0, 100.0, 66.67, 0.0], atol=0.01)
    assert 'Recall' not in content['per_class']
    assert 'mPrecision' not in res  # the returned metrics are unchanged
    assert content['per_image_sums'] == 'per_class_sums.npz'
    assert sums_path(str(out)) == str(tmp_path / 'per_class_sums.npz')

    sums = np.load(tmp_path / 'per_class_sums.npz')
    # by hand, image 1 (2x4, one pixel ignored) then image 2 (1x4)
    np.testing.assert_array_equal(sums['intersection'],
                                  [[2, 2, 1, 0], [2, 0, 1, 0]])
    np.testing.assert_array_equal(sums['union'], [[4, 3, 1, 1], [2, 1, 2, 0]])
    np.testing.assert_array_equal(sums['pred_area'],
                                  [[3, 3, 1, 0], [2, 1, 1, 0]])
    np.testing.assert_array_equal(sums['label_area'],
                                  [[3, 2, 1, 1], [2, 0, 2, 0]])
    assert list(sums['images']) == ['/data/val/img0.png',
                                    '/data/val/img1.png']
    assert list(sums['classes']) == list(CLASSES)
    assert list(sums['groups']) == content['groups']
    assert sums['frequency_groups'].size == 0  # not asked for
    # the sums give the metric's mIoU back
    from mil_seg.benchmark.bootstrap import mean_iou
    assert mean_iou(sums['intersection'].sum(0), sums['union'].sum(0)) == \
        pytest.approx(res['mIoU'], abs=0.01)

    # samples without a path: the sums keep their order, no names
    metric = LongTailIoUMetric(prior=dict(type='ClassPrior', counts=PRIOR),
                               output_file=str(out))
    evaluate(metric, hand_example())
    assert np.load(tmp_path / 'per_class_sums.npz')['images'].size == 0
