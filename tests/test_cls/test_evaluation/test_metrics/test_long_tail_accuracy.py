import math

import pytest
import torch
from mmpretrain.registry import METRICS

from mil_seg.gml import ClassPrior


def _samples(pairs):
    return [
        dict(pred_label=torch.tensor([p]), gt_label=torch.tensor([g]))
        for p, g in pairs
    ]


def test_long_tail_accuracy_hand_checked():
    # class counts: 0 many (500), 1 medium (50), 2 medium (20), 3 few (5)
    metric = METRICS.build(
        dict(type='LongTailAccuracy', prior=[500, 50, 20, 5]))
    pairs = [(0, 0), (0, 0), (1, 0), (0, 0),  # class 0: 3 / 4
             (1, 1), (0, 1),                  # class 1: 1 / 2
             (2, 2), (2, 2),                  # class 2: 2 / 2
             (0, 3), (1, 3)]                  # class 3: 0 / 2
    metric.process(None, _samples(pairs))
    result = metric.evaluate(len(pairs))
    assert result['lt/top1'] == pytest.approx(60.0)
    assert result['lt/mean_class'] == pytest.approx(100 * (0.75 + 0.5 + 1 +
                                                           0) / 4)
    assert result['lt/many'] == pytest.approx(75.0)
    assert result['lt/medium'] == pytest.approx(75.0)  # (1/2 + 2/2) / 2
    assert result['lt/few'] == pytest.approx(0.0)


def test_long_tail_accuracy_count_sources(tmp_path, make_cifar):
    counts_file = str(tmp_path / 'counts.json')
    ClassPrior.write_file(counts_file, [200, 10], count_type='image')
    metric = METRICS.build(dict(type='LongTailAccuracy', prior=counts_file))
    metric.process(None, _samples([(0, 0), (0, 1)]))
    result = metric.evaluate(2)
    assert result['lt/many'] == 100 and result['lt/few'] == 0
    assert math.isnan(result['lt/medium'])  # empty group

    root = make_cifar(str(tmp_path / 'c10'), 10, 150)
    metric = METRICS.build(
        dict(
            type='LongTailAccuracy',
            train_dataset=dict(
                type='CIFAR10LT',
                data_root=root,
                imbalance_factor=10,
                check_md5=False,
                download=False)))
    metric.process(None, _samples([(0, 0), (9, 9)]))
    metric.evaluate(2)
    assert metric.class_counts.tolist()[0] == 150
    assert metric.class_counts.tolist()[-1] == 15

    metric = METRICS.build(dict(type='LongTailAccuracy'))
    assert metric.requires_class_counts
    metric.process(None, _samples([(0, 0)]))
    with pytest.raises(RuntimeError, match='ClassCountsHook'):
        metric.evaluate(1)
