"""Evaluation of the classification adapter (mmpretrain METRICS)."""
from .metrics import LongTailAccuracy, load_class_counts

__all__ = ['LongTailAccuracy', 'load_class_counts']
