"""Heads of the classification adapter."""
from .gml_head import GMLHead, build_projector

__all__ = ['GMLHead', 'build_projector']
