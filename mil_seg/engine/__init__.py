"""Task-agnostic runner components (hooks) shared by both adapters."""
from .hooks import RandomStateHook

__all__ = ['RandomStateHook']
