"""LongTailIoUMetric: mIoU with head / body / tail groups."""
import json

import numpy as np
import pytest

import mil_seg  # noqa: F401
from mil_seg.gml import ClassPrior
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
