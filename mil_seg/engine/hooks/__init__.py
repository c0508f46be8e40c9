"""Runner hooks shared by the segmentation and classification adapters."""
from .random_state_hook import RandomStateHook
from .unused_parameter_hook import UnusedParameterHook

__all__ = ['RandomStateHook', 'UnusedParameterHook']
