"""Models of the classification adapter (registered in mmpretrain MODELS).

The loss baselines (``LogitAdjustedCELoss`` and the others) are
:mod:`mil_seg.losses`, registered by :mod:`mil_seg.cls`.
"""
from .backbones import CIFARResNet
from .classifiers import GMLClassifier
from .heads import GMLClsHead
from .utils import MultiViewClsDataPreprocessor

__all__ = [
    'CIFARResNet', 'GMLClassifier', 'GMLClsHead',
    'MultiViewClsDataPreprocessor'
]
