"""MMSegmentation models of GML: decode heads, pixel loss, anchor sampler.

Importing this package registers ``GMLHead``, ``GMLCascadeHead``,
``GMLEncoderDecoder``, ``GMLCascadeEncoderDecoder``,
``CosineClassifier2d`` and ``LogitAdjustedCELoss`` in
mmseg's ``MODELS`` and ``ClassBalancedAnchorSampler`` in mmseg's
``TASK_UTILS``.
"""
from .anchor_sampler import ClassBalancedAnchorSampler, balanced_quotas
from .cosine_classifier import CosineClassifier2d
from .frozen_teacher import FrozenTeacherMixin
from .gml_cascade_encoder_decoder import GMLCascadeEncoderDecoder
from .gml_cascade_head import GMLCascadeHead
from .gml_encoder_decoder import GMLEncoderDecoder
from .gml_head import GMLHead
from .logit_adjusted_ce_loss import (LogitAdjustedCELoss,
                                     pixel_logit_adjusted_cross_entropy)

__all__ = [
    'ClassBalancedAnchorSampler', 'balanced_quotas', 'CosineClassifier2d',
    'GMLHead', 'GMLCascadeHead', 'GMLEncoderDecoder',
    'GMLCascadeEncoderDecoder', 'FrozenTeacherMixin', 'LogitAdjustedCELoss',
    'pixel_logit_adjusted_cross_entropy'
]
