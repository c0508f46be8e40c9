"""Runner hooks shared by the segmentation and classification adapters."""
from .random_state_hook import RandomStateHook

__all__ = ['RandomStateHook']
