"""The GML method, task-agnostic: imports torch, numpy and mmengine only."""
from .blv_loss import BLVLoss
from .class_weighted_ce_loss import ClassWeightedCELoss
from .contrast import ContrastiveBranch, build_projector
from .functional import (check_labels, cross_entropy, distillation_kl,
                         gml_contrastive_terms, masked_cross_entropy)
from .groups import (FREQUENCY_GROUP_NAMES, GROUP_BY, GROUP_NAMES,
                     class_groups)
from .logit_adjusted_ce_loss import LogitAdjustedCELoss
from .loss import GMLLoss
from .prior import ClassPrior, build_class_prior
from .queue import ClassBalancedQueue
from .pixel_seesaw_loss import PixelSeesawLoss

#: Core modules that configs of both toolboxes build; each adapter registers
#: them into its toolbox's ``MODELS``.
REGISTERED_MODULES = (ClassPrior, ClassBalancedQueue, GMLLoss,
                      LogitAdjustedCELoss, ClassWeightedCELoss, BLVLoss,
                      PixelSeesawLoss)

__all__ = [
    'ClassPrior', 'build_class_prior', 'ClassBalancedQueue', 'GMLLoss',
    'LogitAdjustedCELoss', 'ClassWeightedCELoss', 'BLVLoss', 'PixelSeesawLoss',
    'ContrastiveBranch', 'build_projector', 'class_groups', 'GROUP_BY',
    'GROUP_NAMES', 'FREQUENCY_GROUP_NAMES', 'check_labels', 'cross_entropy',
    'masked_cross_entropy',
    'gml_contrastive_terms', 'distillation_kl', 'REGISTERED_MODULES'
]
