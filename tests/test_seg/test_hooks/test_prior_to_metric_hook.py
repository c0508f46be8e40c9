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


def test_prior_to_metric_hook_hands_over_image_counts(tmp_path):
    # a model prior from a file with image counts: the metric's frequency
    # groups come from them ('d' in most images: frequent)
    path = str(tmp_path / 'prior.json')
    ClassPrior.write_file(path, PRIOR, image_counts=[3, 40, 12, 200])
    metric = LongTailIoUMetric(
        frequency_groups=dict(group_by='count', group_split=(100, 11)))
    runner = _Runner(metric)
    runner.model.head.prior = ClassPrior(4, file=path)
    PriorToMetricHook().before_val(runner)
    res = evaluate(metric, hand_example())
    assert res['mIoU_frequent'] == pytest.approx(0.0, abs=0.01)
    assert res['mIoU_rare'] == pytest.approx(100 * 4 / 6, abs=0.01)
    # an online prior counts pixels only: frequency groups cannot be formed
    metric = LongTailIoUMetric(frequency_groups=dict())
    runner = _Runner(metric)
    runner.model.head.prior.update(torch.tensor([0, 0, 1, 2, 3]))
    PriorToMetricHook().before_val(runner)
    with pytest.raises(ValueError, match='compute_class_prior.py'):
        evaluate(metric, hand_example())
    # without frequency groups the online path is unchanged
    metric = LongTailIoUMetric()
    runner = _Runner(metric)
    runner.model.head.prior.update(torch.tensor([0, 0, 1, 2, 3]))
    PriorToMetricHook().before_val(runner)
    assert 'mIoU_head' in evaluate(metric, hand_example())
