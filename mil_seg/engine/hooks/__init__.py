"""Runner hooks shared by the segmentation and classification adapters."""
from .class_counts_hook import ClassCountsHook
from .random_state_hook import RandomStateHook
from .unused_parameter_hook import UnusedParameterHook

__all__ = ['ClassCountsHook', 'RandomStateHook', 'UnusedParameterHook']
