"""Backbones of the segmentation adapter (registered in mmseg MODELS)."""
from .efficientnet_lite import EfficientNetLite0

__all__ = ['EfficientNetLite0']
