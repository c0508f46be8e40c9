"""The GML method, task-agnostic: imports torch, numpy and mmengine only."""
from .functional import (class_log_mean_exp, distillation_kl,
                         gml_contrastive_terms, logit_adjusted_cross_entropy,
                         masked_cross_entropy)
from .loss import GMLLoss
from .prior import ClassPrior
from .queue import ClassBalancedQueue

__all__ = [
    'ClassPrior', 'ClassBalancedQueue', 'GMLLoss', 'class_log_mean_exp',
    'masked_cross_entropy', 'logit_adjusted_cross_entropy',
    'gml_contrastive_terms', 'distillation_kl'
]
