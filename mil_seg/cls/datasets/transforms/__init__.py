"""Data transforms of the classification adapter."""
from .torch_auto_augment import TorchAutoAugment

__all__ = ['TorchAutoAugment']
