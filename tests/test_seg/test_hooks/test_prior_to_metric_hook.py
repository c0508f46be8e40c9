"""PriorToMetricHook: the model's (online) prior groups the metric."""
import pytest
import torch
from mmseg.registry import HOOKS

import mil_seg  # noqa: F401
from mil_seg.gml import ClassPrior
from mil_seg.seg.evaluation import LongTailIoUMetric
from mil_seg.seg.hooks import PriorToMetricHook

CLASSES = ('a', 'b', 'c', 'd')
PRIOR = [60, 25, 10, 5]


def _sample(pred, gt):
    return dict(
        pred_sem_seg=dict(data=torch.tensor(pred)[None]),
        gt_sem_seg=dict(data=torch.tensor(gt)[None]))


def _evaluate(metric, samples):
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, samples)
    return metric.evaluate(len(samples))


def _hand_example():
    # one 2x4 image and one 1x4 image; 255 is ignored
    gt1 = [[0, 0, 0, 1], [1, 2, 3, 255]]
    pred1 = [[0, 0, 1, 1], [1, 2, 0, 3]]
    gt2 = [[0, 0, 2, 2]]
    pred2 = [[0, 0, 2, 1]]
    # class 0: I = 2 + 2 = 4, gt = 5, pred = 5 (4 + pred 0 at gt 3) -> 4/6
    # class 1: I = 2, gt = 2, pred = 3 + 1 = 4 -> 2/4
    # class 2: I = 1 + 1 = 2, gt = 3, pred = 2 -> 2/3
    # class 3: I = 0, gt = 1, pred = 0 (255 pixel ignored) -> 0
    return [_sample(pred1, gt1), _sample(pred2, gt2)]


class _Model(torch.nn.Module):

    def __init__(self):
        super().__init__()
        self.head = torch.nn.Module()
        self.head.prior = ClassPrior(4, mode='online')


class _Runner:

    def __init__(self, metric):
        self.model = _Model()
        evaluator = type('Evaluator', (), {'metrics': [metric]})()
        self.val_loop = type('Loop', (), {'evaluator': evaluator})()
        self.test_loop = self.val_loop


def test_prior_to_metric_hook_online_prior():
    metric = LongTailIoUMetric()
    runner = _Runner(metric)
    # the online prior has seen labels: class 3 most, then 2, 1, 0
    labels = torch.tensor([3] * 60 + [2] * 25 + [1] * 10 + [0] * 5)
    runner.model.head.prior.update(labels)
    hook = HOOKS.build(dict(type='PriorToMetricHook'))
    hook.before_val(runner)
    res = _evaluate(metric, _hand_example())
    assert res['mIoU_head'] == pytest.approx(0.0, abs=0.01)  # class 'd'
    assert res['mIoU_tail'] == pytest.approx(100 * 4 / 6, abs=0.01)
    # a metric with its own prior is kept unless overwrite=True
    own = LongTailIoUMetric(prior=dict(type='ClassPrior', counts=PRIOR))
    PriorToMetricHook().before_test(_Runner(own))
    assert own._prior_counts is None
    PriorToMetricHook(prior_name='head.prior',
                      overwrite=True).before_test(_Runner(own))
    assert own._prior_counts is not None
