"""A hand-computed segmentation example for the long-tail IoU metric (used
by the metric's and the prior-to-metric hook's tests)."""
import torch

CLASSES = ('a', 'b', 'c', 'd')
# shares 0.6 / 0.25 / 0.1 / 0.05: head {a}, body {b, c}, tail {d}
PRIOR = [60, 25, 10, 5]


def sample(pred, gt):
    return dict(
        pred_sem_seg=dict(data=torch.tensor(pred)[None]),
        gt_sem_seg=dict(data=torch.tensor(gt)[None]))


def evaluate(metric, samples):
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, samples)
    return metric.evaluate(len(samples))


def hand_example():
    # one 2x4 image and one 1x4 image; 255 is ignored
    gt1 = [[0, 0, 0, 1], [1, 2, 3, 255]]
    pred1 = [[0, 0, 1, 1], [1, 2, 0, 3]]
    gt2 = [[0, 0, 2, 2]]
    pred2 = [[0, 0, 2, 1]]
    # class 0: I = 2 + 2 = 4, gt = 5, pred = 5 (4 + pred 0 at gt 3) -> 4/6
    # class 1: I = 2, gt = 2, pred = 3 + 1 = 4 -> 2/4
    # class 2: I = 1 + 1 = 2, gt = 3, pred = 2 -> 2/3
    # class 3: I = 0, gt = 1, pred = 0 (255 pixel ignored) -> 0
    return [sample(pred1, gt1), sample(pred2, gt2)]
