"""Engine components of the classification adapter (mmpretrain HOOKS)."""
from .hooks import ClassCountsHook

__all__ = ['ClassCountsHook']
