"""Task-agnostic runner components (hooks) shared by both adapters."""
from .hooks import RandomStateHook, UnusedParameterHook

__all__ = ['RandomStateHook', 'UnusedParameterHook']
