"""Region Rebalance: an auxiliary balanced region classifier for any
MMSegmentation decode head."""
import copy
import math
from typing import Dict, List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, SampleList
from torch import Tensor

from mil_seg.gml.functional import check_labels
from mil_seg.gml.prior import PriorConfig, build_class_prior
from mil_seg.errors import UserError
from .image_regions import image_class_means, labels_at_feature_size
from .wrapped_decode_head import WrappedDecodeHead


@MODELS.register_module()
class RegionRebalanceHead(WrappedDecodeHead):
    """Wraps any mmseg decode head and adds Region Rebalance's auxiliary
    region classification loss.

    Source: J. Cui, Y. Yuan, Z. Zhong, Z. Tian, H. Hu, S. Lin, J. Jia,
    "Region Rebalance for Long-Tailed Semantic Segmentation", arXiv
    2204.01969 (2022); the same group's CVPR 2023 CeCo release (Z. Zhong et
    al., "Understanding Imbalanced Semantic Segmentation Through Neural
    Collapse") ships RR as "the linear version of CeCo". Code (mmseg 0.x,
    linked from github.com/dvlab-research/Imbalanced-Learning):
    github.com/dvlab-research/Parametric-Contrastive-Learning,
    ``GPaCo/Seg/mmseg/models/decode_heads/``: ``uper_head_paco.py``
    (``UPerHead_rr``), ``uper_head_ceco.py`` (``UPerHead_cecol``),
    ``rr.py`` and the compiled ``sep_aspp_head_rebalance`` of the arXiv
    code (DeepLabV3+); configs ``GPaCo/Seg/configs/ceco_ade20k/*_cecol.py``.

    The wrapped ``decoder`` keeps everything of its own: its pixel
    classifier (``conv_seg`` and dropout move to this head, which applies
    them as the decoder did), its ``loss_decode`` and sampler, so the pixel
    losses, ``acc_seg`` and the predictions are the decoder's. In training
    only, a branch reads the decoder's features before the pixel
    classifier (B x F x h x w); inference never runs it:

    - ``region_reduce``: a 1x1 conv to ``region_channels`` with the
      decoder's norm (the authors': 128 channels, BN);
    - one region per (image, class present): the mean reduced feature of
      the class's pixels in the image, labels resized to the feature map by
      nearest neighbour, ``ignore_index`` pixels in no region
      (:func:`image_class_means`);
    - ``region_classifier``: Linear(region_channels, region_hidden_channels)
      + ReLU + dropout (the decoder's ratio) + Linear(..., C), a classifier
      of its own, not the pixel classifier;
    - ``loss_region``: ``region_weight`` times the cross-entropy of the
      regions' logits adjusted by the prior (``ClassPrior.adjust``: ``+ tau
      * log pi``, a balanced softmax at tau 1, the authors' strength),
      averaged over the batch's regions; 0 for a batch without one.

    The authors balance by the number of training images that contain each
    class (one region per image and class present: the region frequency):
    a shipped prior's image counts, ``dict(type='ClassPrior',
    file='ade20k', count_type='image')``. Differences from their code, on
    purpose: regions are per image (their released heads pool each class
    over the whole batch, which makes the region count depend on the batch
    size), and labels are downsampled instead of features upsampled (as
    their ``rr.py`` does); their arXiv
    DeepLabV3+ head adds a pixel-to-region consistency term and their CeCo
    configs a label smoothing of 0.5, neither taken here.

    Their code freezes the whole branch (``requires_grad=False``) at its
    random initialisation, so the region loss trains the decoder and
    backbone only; ``freeze_region_branch=True`` (the default) does the
    same. The branch runs every step on every rank, also on a batch without
    regions (absent regions are computed and masked), so a trainable branch
    gets a gradient in every step (what DDP needs). ``region_weight=0``
    builds no branch: the head is its decoder, with the same losses,
    gradients and predictions, and nothing for ``UnusedParameterHook`` to
    find. Cascade decoders (OCRHead) are refused.

    Args:
        decoder (dict): Config of the wrapped mmseg decode head; this head
            takes over its channels, inputs, ``num_classes``,
            ``align_corners``, ``ignore_index``, classifier, losses and
            sampler.
        prior (str | dict | ClassPrior): The class prior of the region
            classes, anything :func:`~mil_seg.gml.prior.build_class_prior`
            accepts, e.g. ``dict(type='ClassPrior', file='ade20k',
            count_type='image')``; its ``tau`` is the strength of the
            adjustment.
        region_weight (float): Weight of ``loss_region``; 0 builds no
            branch. Defaults to 1.0 (the authors' released RR configs).
        region_channels (int): Channels of the reduced pixel features.
            Defaults to 128 (the authors').
        region_hidden_channels (int): Hidden size of the region classifier.
            Defaults to 512 (the authors').
        freeze_region_branch (bool): Keep the branch's parameters at their
            initialisation, as the authors' code does. Defaults to True.
        init_cfg (dict, optional): Defaults to ``Normal(std=0.01)`` on
            ``conv_seg`` (mmseg's decode-head default).
    """

    def __init__(self,
                 decoder: ConfigType,
                 prior: PriorConfig,
                 region_weight: float = 1.0,
                 region_channels: int = 128,
                 region_hidden_channels: int = 512,
                 freeze_region_branch: bool = True,
                 init_cfg: OptConfigType = dict(
                     type='Normal', std=0.01,
                     override=dict(name='conv_seg'))) -> None:
        region_weight = float(region_weight)
        if not (math.isfinite(region_weight) and region_weight >= 0):
            raise UserError(
                f'region_weight must be finite and >= 0, got {region_weight}'
                ': set model.decode_head.region_weight (0 turns Region '
                'Rebalance off).')
        if min(region_channels, region_hidden_channels) < 1:
            raise UserError(
                'region_channels and region_hidden_channels must be >= 1, '
                f'got {region_channels} and {region_hidden_channels}.')
        # The decoder's pixel classifier, losses and sampler move here; the
        # pixel path is the decoder's own.
        super().__init__(
            decoder, keep_decoder_classifier=True, init_cfg=init_cfg)
        self.prior = build_class_prior(copy.deepcopy(prior), self.num_classes)
        self.region_weight = region_weight

        self.region_reduce = self.region_classifier = None
        if region_weight > 0:
            self.region_reduce = ConvModule(
                self.channels,
                region_channels,
                1,
                norm_cfg=self.decoder.norm_cfg,
                act_cfg=None)
            self.region_classifier = nn.Sequential(
                nn.Linear(region_channels, region_hidden_channels),
                nn.ReLU(inplace=True),
                nn.Dropout(self.dropout_ratio)
                if self.dropout_ratio > 0 else nn.Identity(),
                nn.Linear(region_hidden_channels, self.num_classes))
            if freeze_region_branch:
                for module in (self.region_reduce, self.region_classifier):
                    module.requires_grad_(False)

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """The decoder's B x C x h x w logits."""
        return self.cls_seg(self._decode_features(inputs))

    def loss(self, inputs: Tuple[Tensor], batch_data_samples: SampleList,
             train_cfg: ConfigType) -> Dict[str, Tensor]:
        """The decoder's losses and ``acc_seg``, plus ``loss_region`` when
        ``region_weight > 0``. Labels are range-checked once per step,
        here."""
        seg_label = self._stack_batch_gt(batch_data_samples)  # B x 1 x H x W
        check_labels(seg_label, self.num_classes, self.ignore_index)
        features = self._decode_features(inputs)  # B x F x h x w
        losses = self.loss_by_feat(self.cls_seg(features), batch_data_samples)
        if self.region_classifier is not None:
            losses['loss_region'] = self.region_weight * self.region_loss(
                features, seg_label)
        return losses

    def region_logits(self, features: Tensor,
                      seg_label: Tensor) -> Tuple[Tensor, Tensor]:
        """Prior-free logits of every (image, class) region of a batch.

        Args:
            features (Tensor): The decoder's features, B x F x h x w.
            seg_label (Tensor): B x 1 x H x W labels.

        Returns:
            tuple[Tensor, Tensor]: (B * C) x C logits in (image, class)
            order and the (B * C,) pixel counts of the regions (0: absent).
        """
        reduced = self.region_reduce(features)  # B x D x h x w
        labels = labels_at_feature_size(seg_label, reduced.shape[2:])
        means, counts = image_class_means(reduced, labels, self.num_classes,
                                          self.ignore_index)
        return self.region_classifier(means.to(reduced.dtype)), counts

    def region_loss(self, features: Tensor, seg_label: Tensor) -> Tensor:
        """Mean prior-adjusted cross-entropy of the batch's regions
        (unweighted).

        Args:
            features (Tensor): The decoder's features, B x F x h x w.
            seg_label (Tensor): B x 1 x H x W labels, checked by the caller
                (``check_labels``).

        Returns:
            Tensor: 0-dim float32; 0 without a region.
        """
        logits, counts = self.region_logits(features, seg_label)
        logits = self.prior.adjust(logits)  # + tau * log pi, float32
        targets = torch.arange(
            self.num_classes, device=logits.device).repeat(seg_label.shape[0])
        ce = F.cross_entropy(logits, targets, reduction='none')
        present = counts > 0
        # Absent regions stay in the graph at weight 0: every parameter of
        # the branch takes part in every step, regions or not.
        return torch.where(present, ce, torch.zeros_like(ce)).sum() / \
            present.sum().clamp_min(1)
