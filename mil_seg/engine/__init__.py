"""Task-agnostic runner components (hooks) shared by both adapters."""
from .hooks import ClassCountsHook, RandomStateHook, UnusedParameterHook

__all__ = ['ClassCountsHook', 'RandomStateHook', 'UnusedParameterHook']
