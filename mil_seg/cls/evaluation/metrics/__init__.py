"""Metrics of the classification adapter."""
from .long_tail_accuracy import LongTailAccuracy, load_class_counts

__all__ = ['LongTailAccuracy', 'load_class_counts']
