"""Models of the classification adapter (registered in mmpretrain MODELS).

The logit-adjusted baseline, ``LogitAdjustedCELoss``, is the core's
(:mod:`mil_seg.gml`), registered here by :mod:`mil_seg.cls`.
"""
from .backbones import CIFARResNet
from .classifiers import GMLClassifier
from .heads import GMLClsHead
from .utils import MultiViewClsDataPreprocessor

__all__ = [
    'CIFARResNet', 'GMLClassifier', 'GMLClsHead',
    'MultiViewClsDataPreprocessor'
]
