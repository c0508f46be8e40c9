"""PriorToMetricHook: the model's (online) prior groups the metric."""
import pytest
import torch
from mmseg.registry import HOOKS

import mil_seg  # noqa: F401
from mil_seg.gml import ClassPrior
from mil_seg.seg.evaluation import LongTailIoUMetric
from mil_seg.seg.hooks import PriorToMetricHook

from ..metric_examples import PRIOR, evaluate, hand_example


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
    res = evaluate(metric, hand_example())
    assert res['mIoU_head'] == pytest.approx(0.0, abs=0.01)  # class 'd'
    assert res['mIoU_tail'] == pytest.approx(100 * 4 / 6, abs=0.01)
    # a metric with its own prior is kept unless overwrite=True
    own = LongTailIoUMetric(prior=dict(type='ClassPrior', counts=PRIOR))
    PriorToMetricHook().before_test(_Runner(own))
    assert own._prior_counts is None
    PriorToMetricHook(prior_name='head.prior',
                      overwrite=True).before_test(_Runner(own))
    assert own._prior_counts is not None
