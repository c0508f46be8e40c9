"""Runner hooks of the segmentation adapter."""
from .prior_to_metric_hook import PriorToMetricHook

__all__ = ['PriorToMetricHook']
