"""The field's long-tail baselines beside GML: each a plain function (the
maths) plus a thin registered module on the neutral
:class:`~.prior_ce_loss.PriorCELoss`. Imports the core (:mod:`mil_seg.gml`)
and no toolbox."""
from .blv_loss import BLVLoss, blv_loss, blv_noise_scale, blv_perturb
from .class_weighted_ce_loss import ClassWeightedCELoss, class_weighted_ce_loss
from .logit_adjusted_ce_loss import LogitAdjustedCELoss, logit_adjusted_ce_loss
from .pixel_seesaw_loss import (PixelSeesawLoss, pixel_seesaw_loss,
                                seesaw_logits)
from .prior_ce_loss import PriorCELoss, load_class_weight, prior_ce_loss

#: The losses that configs of both toolboxes build; each adapter registers
#: them into its toolbox's ``MODELS``.
REGISTERED_MODULES = (LogitAdjustedCELoss, ClassWeightedCELoss, BLVLoss,
                      PixelSeesawLoss)

__all__ = [
    'PriorCELoss', 'prior_ce_loss', 'load_class_weight', 'LogitAdjustedCELoss',
    'logit_adjusted_ce_loss', 'ClassWeightedCELoss', 'class_weighted_ce_loss',
    'BLVLoss', 'blv_loss', 'blv_noise_scale', 'blv_perturb', 'PixelSeesawLoss',
    'pixel_seesaw_loss', 'seesaw_logits', 'REGISTERED_MODULES'
]
