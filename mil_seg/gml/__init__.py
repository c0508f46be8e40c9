"""The GML method, task-agnostic: imports torch, numpy and mmengine only."""
from .contrast import ContrastiveBranch, build_projector
from .functional import (check_labels, cross_entropy, distillation_kl,
                         gml_contrastive_terms, masked_cross_entropy)
from .groups import (FREQUENCY_GROUP_NAMES, GROUP_BY, GROUP_NAMES,
                     class_groups)
from .loss import GMLLoss
from .prior import ClassPrior, build_class_prior
from .queue import ClassBalancedQueue

#: Core modules that configs of both toolboxes build; each adapter registers
#: them into its toolbox's ``MODELS`` (the baselines: :mod:`mil_seg.losses`).
REGISTERED_MODULES = (ClassPrior, ClassBalancedQueue, GMLLoss)

__all__ = [
    'ClassPrior', 'build_class_prior', 'ClassBalancedQueue', 'GMLLoss',
    'ContrastiveBranch', 'build_projector', 'class_groups', 'GROUP_BY',
    'GROUP_NAMES', 'FREQUENCY_GROUP_NAMES', 'check_labels', 'cross_entropy',
    'masked_cross_entropy',
    'gml_contrastive_terms', 'distillation_kl', 'REGISTERED_MODULES'
]
