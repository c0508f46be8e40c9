"""Metrics of the classification adapter."""
from .long_tail_accuracy import LongTailAccuracy

__all__ = ['LongTailAccuracy']
