"""Evaluation: the long-tail IoU metric, class groups and plots."""
from .class_groups import GROUP_NAMES, class_groups
from .class_iou_plot import load_class_results, plot_class_iou
from .long_tail_iou_metric import LongTailIoUMetric

__all__ = [
    'LongTailIoUMetric', 'class_groups', 'GROUP_NAMES',
    'load_class_results', 'plot_class_iou'
]
