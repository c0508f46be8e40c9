"""Hooks of the classification adapter."""
from .class_counts_hook import ClassCountsHook

__all__ = ['ClassCountsHook']
