"""MMSegmentation models of GML: decode heads, pixel contrast, segmentors.

Importing this package registers ``GMLHead``, ``GMLCascadeHead``,
``GMLEncoderDecoder``, ``GMLCascadeEncoderDecoder``,
``CosineClassifier2d``, the Region Rebalance baseline,
``RegionRebalanceHead`` (both heads on :class:`WrappedDecodeHead`, the
wrapper of any mmseg decode head), and the ``EfficientNetLite0`` backbone,
in mmseg's ``MODELS`` and
``ClassBalancedAnchorSampler`` in mmseg's ``TASK_UTILS``. The loss
baselines (``LogitAdjustedCELoss`` and the others) are
:mod:`mil_seg.losses`, registered by :mod:`mil_seg.seg`.
"""
from .anchor_sampler import ClassBalancedAnchorSampler, balanced_quotas
from .backbones import EfficientNetLite0
from .cosine_classifier import CosineClassifier2d
from .frozen_teacher import FrozenTeacherMixin
from .gml_cascade_encoder_decoder import GMLCascadeEncoderDecoder
from .gml_cascade_head import GMLCascadeHead
from .gml_encoder_decoder import GMLEncoderDecoder
from .gml_head import GMLHead
from .image_regions import image_class_means, labels_at_feature_size
from .pixel_contrast import PixelContrast
from .region_rebalance_head import RegionRebalanceHead
from .wrapped_decode_head import WrappedDecodeHead, move_plain_head_keys

__all__ = [
    'ClassBalancedAnchorSampler', 'balanced_quotas', 'CosineClassifier2d',
    'EfficientNetLite0',
    'GMLHead', 'GMLCascadeHead', 'GMLEncoderDecoder',
    'GMLCascadeEncoderDecoder', 'FrozenTeacherMixin', 'PixelContrast',
    'RegionRebalanceHead', 'WrappedDecodeHead', 'move_plain_head_keys',
    'image_class_means', 'labels_at_feature_size'
]
