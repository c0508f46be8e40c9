"""Heads of the classification adapter."""
from .gml_cls_head import GMLClsHead, build_projector

__all__ = ['GMLClsHead', 'build_projector']
