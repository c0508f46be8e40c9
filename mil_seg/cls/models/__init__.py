"""Models of the classification adapter (registered in mmpretrain MODELS)."""
from .backbones import CIFARResNet
from .classifiers import GMLClassifier
from .heads import GMLClsHead
from .losses import LogitAdjustedLoss
from .utils import (MultiViewClsDataPreprocessor, build_class_prior,
                    fill_class_prior, prior_is_empty)

__all__ = [
    'CIFARResNet', 'GMLClassifier', 'GMLClsHead', 'LogitAdjustedLoss',
    'MultiViewClsDataPreprocessor', 'build_class_prior', 'fill_class_prior',
    'prior_is_empty'
]
