"""Heads of the classification adapter."""
from .gml_cls_head import GMLClsHead

__all__ = ['GMLClsHead']
