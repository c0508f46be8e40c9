"""Evaluation: the long-tail IoU metric and per-class plots."""
from .class_iou_plot import load_class_results, plot_class_iou
from .long_tail_iou_metric import LongTailIoUMetric

__all__ = ['LongTailIoUMetric', 'load_class_results', 'plot_class_iou']
