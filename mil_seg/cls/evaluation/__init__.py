"""Evaluation of the classification adapter (mmpretrain METRICS)."""
from .metrics import LongTailAccuracy

__all__ = ['LongTailAccuracy']
