"""GML decode head: adds the GML loss to any MMSegmentation decode head."""
import copy
from typing import Dict, List, Optional, Tuple

import torch
from mmseg.models.losses import accuracy
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import ConfigType, OptConfigType, SampleList
from torch import Tensor

from mil_seg.gml.functional import check_labels
from mil_seg.gml.prior import PriorConfig, build_class_prior
from mil_seg.errors import UserError
from .cosine_classifier import CosineClassifier2d
from .pixel_contrast import PixelContrast
from .wrapped_decode_head import WrappedDecodeHead


@MODELS.register_module()
class GMLHead(WrappedDecodeHead):
    """Wraps any mmseg decode head and trains it with the GML loss.

    The wrapped ``decoder``'s own classifier, dropout and loss are removed
    (:class:`WrappedDecodeHead`, which also loads a plain head's
    checkpoint), so its ``forward`` returns the features that fed
    ``cls_seg``. On these ``B x F x h x w`` features (``F =
    decoder.channels``) this head adds:

    - a cosine 1x1 classifier (``conv_seg``, scale ``1 / T_s``) after the
      decoder's dropout, whose logits are the output at inference.
    - ``L_sup``: cross-entropy on the logits adjusted by the prior
      (``ClassPrior.adjust``: ``+ tau * log pi``) at label resolution.
    - ``L_con`` + ``L_con_T``: pixel contrast (:class:`PixelContrast`) of
      class-balanced anchors against a class-balanced queue of detached
      pixel features, gathered across ranks.

    Two stages: :class:`GMLEncoderDecoder` passes a frozen teacher's
    features (``key_in_channels``) to fill the queue, and its logits for
    ``loss_gml.kd_weight > 0``. At inference the prior is dropped (the
    balanced posterior), or applied at ``-posthoc_tau``. An ``'online'``
    prior counts every training batch's pixels; the queue, which follows
    the prior, is then laid out after the first batch. Labels are
    range-checked once per step, here. Cascades (OCRNet):
    :class:`GMLCascadeHead`.

    Args:
        decoder (dict): Config of the wrapped mmseg decode head, whose
            channels, inputs, dropout, ``num_classes``, ``align_corners``
            and ``ignore_index`` this head takes over.
        prior (str | dict | ClassPrior): The class prior, anything
            :func:`~mil_seg.gml.prior.build_class_prior` accepts, e.g.
            ``dict(type='ClassPrior', file='ade20k')``. Its ``tau`` scales
            ``log pi`` in both terms; tune it with ``classifier_scale``.
        classifier (str): ``'cosine'`` (the method's) or ``'linear'``
            (mmseg's ``conv_seg``: ``L_sup`` is then logit-adjusted CE).
            Defaults to 'cosine'.
        classifier_scale (float): ``1 / T_s`` of the cosine classifier:
            wide enough for a long-tailed log prior plus a margin, bounded
            so logits do not grow. Defaults to 30.0 (the paper's).
        embed_dim (int): Size D of the contrastive embedding.
            Defaults to 128.
        projector_hidden_channels (int, optional): Hidden size of the
            projectors. Defaults to None (their input size).
        key_in_channels (int, optional): Channels of a frozen teacher's
            features filling the queue. Defaults to None (single stage).
        queue (dict): :class:`~mil_seg.gml.ClassBalancedQueue` arguments.
            Defaults to ``dict(size=16384, base_size=2)``.
        anchor_sampler (dict): Config of the anchor sampler (``TASK_UTILS``).
            Defaults to ``dict(type='ClassBalancedAnchorSampler',
            max_anchors_per_image=256)``.
        loss_gml (dict): Config of :class:`~mil_seg.gml.GMLLoss` (``type``
            and ``num_classes`` filled in); ``con_weight=0`` leaves
            logit-adjusted cosine CE, without projector, queue or
            temperature parameter. Defaults to ``dict(type='GMLLoss',
            sup_weight=1.0, con_weight=1.0, init_temperature=0.1)``.
        avg_non_ignore (bool): Average ``L_sup`` over non-ignored pixels
            only. Defaults to True.
        posthoc_tau (float, optional): Inference uses ``logits - posthoc_tau
            * log pi`` (negative: toward the training prior); choose it on
            held-out data (``tools/analysis/posthoc_tau_sweep.py``). Defaults
            to None.
        self_exclusion (str): See :class:`PixelContrast`. Defaults to
            'pixel'.
        exclude_own_image_keys (bool): Ditto. Defaults to True.
        queue_keys (str): Ditto. Defaults to 'pixel'.
        init_cfg (dict, optional): Defaults to ``Normal(std=0.01)`` on
            ``conv_seg``.
    """

    counterpart = 'GMLCascadeHead'

    def __init__(self,
                 decoder: ConfigType,
                 prior: PriorConfig,
                 classifier: str = 'cosine',
                 classifier_scale: float = 30.0,
                 embed_dim: int = 128,
                 projector_hidden_channels: Optional[int] = None,
                 key_in_channels: Optional[int] = None,
                 queue: ConfigType = dict(size=16384, base_size=2),
                 anchor_sampler: ConfigType = dict(
                     type='ClassBalancedAnchorSampler',
                     max_anchors_per_image=256),
                 loss_gml: ConfigType = dict(
                     type='GMLLoss', sup_weight=1.0, con_weight=1.0,
                     init_temperature=0.1),
                 avg_non_ignore: bool = True,
                 posthoc_tau: Optional[float] = None,
                 self_exclusion: str = 'pixel',
                 exclude_own_image_keys: bool = True,
                 queue_keys: str = 'pixel',
                 init_cfg: OptConfigType = dict(
                     type='Normal', std=0.01,
                     override=dict(name='conv_seg'))) -> None:
        if classifier not in ('cosine', 'linear'):
            raise UserError("GMLHead: classifier must be 'cosine' or "
                            f"'linear', got {classifier!r}.")
        super().__init__(decoder, init_cfg=init_cfg)
        if classifier == 'cosine':  # else mmseg's linear conv_seg stays
            self.conv_seg = CosineClassifier2d(
                self.channels, self.num_classes, scale=classifier_scale)
        self.prior = build_class_prior(copy.deepcopy(prior), self.num_classes)
        self.posthoc_tau = posthoc_tau
        self.avg_non_ignore = avg_non_ignore
        self.key_in_channels = key_in_channels

        self.loss_gml = MODELS.build({
            'type': 'GMLLoss', 'num_classes': self.num_classes, **loss_gml})
        self.with_contrastive = self.loss_gml.con_weight > 0

        self.contrast = None
        if self.with_contrastive:
            # The queue follows the prior: an online one lays it out at the
            # first push, after the first batch's counts.
            self.contrast = PixelContrast(
                self.num_classes, self.channels, self.ignore_index,
                anchor_sampler, self_exclusion, exclude_own_image_keys,
                queue_keys, self.align_corners,
                prior=self.prior, embed_dim=embed_dim,
                projector_hidden_channels=projector_hidden_channels,
                key_in_channels=key_in_channels, queue=queue)
        self.register_buffer('num_train_steps',
                             torch.zeros((), dtype=torch.long))

    def _posthoc_adjust(self, seg_logits: Tensor) -> Tensor:
        """The optional post-hoc prior adjustment (eval mode only)."""
        if self.training or not self.posthoc_tau:
            return seg_logits
        return self.prior.adjust(seg_logits, -self.posthoc_tau)

    def forward(self, inputs: List[Tensor]) -> Tensor:
        """B x C x h x w logits of the backbone features ``inputs``,
        prior-free (post-hoc adjusted in eval mode if set)."""
        features = self._decode_features(inputs)
        return self._posthoc_adjust(self.cls_seg(features))

    def loss(self,
             inputs: Tuple[Tensor],
             batch_data_samples: SampleList,
             train_cfg: ConfigType,
             teacher_features: Optional[Tensor] = None,
             teacher_logits: Optional[Tensor] = None,
             prev_output: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """:meth:`loss_by_feat` of a batch (``prev_output``: cascades)."""
        features = self._decode_features(inputs, prev_output)
        return self.loss_by_feat(
            self.cls_seg(features),
            batch_data_samples,
            features=features,
            teacher_features=teacher_features,
            teacher_logits=teacher_logits)

    def loss_by_feat(
            self,
            seg_logits: Tensor,
            batch_data_samples: SampleList,
            features: Optional[Tensor] = None,
            teacher_features: Optional[Tensor] = None,
            teacher_logits: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Compute the losses from the head's logits and features.

        Args:
            seg_logits (Tensor): Classifier logits, B x C x h x w.
            batch_data_samples (list[SegDataSample]): With ``gt_sem_seg``.
            features (Tensor, optional): The decoder's features, B x F x h x
                w; without them only ``L_sup``. Defaults to None.
            teacher_features (Tensor, optional): A frozen teacher's
                features, B x key_in_channels x h' x w'. Defaults to None.
            teacher_logits (Tensor, optional): The teacher's prior-free
                logits, B x C x h' x w', to distil. Defaults to None.

        Returns:
            dict[str, Tensor]: ``loss_sup`` [, ``loss_con``,
            ``loss_con_temp``, ``loss_kd``] and ``acc_seg``.
        """
        seg_label = self._stack_batch_gt(batch_data_samples)  # B x 1 x H x W
        check_labels(seg_label, self.num_classes, self.ignore_index)
        if self.training:
            self._update_prior(seg_label)

        contrastive = dict()
        if self.with_contrastive and features is not None:
            contrastive = self.contrast(features, seg_label,
                                        self.num_train_steps,
                                        teacher_features)

        seg_logits = resize(seg_logits, seg_label.shape[2:], mode='bilinear',
                            align_corners=self.align_corners)
        if teacher_logits is not None:
            contrastive['teacher_logits'] = resize(
                teacher_logits.detach(), seg_label.shape[2:],
                mode='bilinear', align_corners=self.align_corners)
        elif self.training and self.loss_gml.kd_weight > 0:
            raise UserError(
                'loss_gml.kd_weight > 0 distils a teacher: use '
                "model.type='GMLEncoderDecoder' (a cascade: "
                "'GMLCascadeEncoderDecoder') with "
                'model.teacher=dict(..., checkpoint=...), or set '
                'model.decode_head.loss_gml.kd_weight=0.')
        seg_label = seg_label.squeeze(1)
        losses = self.loss_gml(
            seg_logits,
            seg_label,
            self.prior,
            ignore_index=self.ignore_index,
            avg_non_ignore=self.avg_non_ignore,
            **contrastive)
        losses['acc_seg'] = accuracy(
            seg_logits, seg_label, ignore_index=self.ignore_index)
        if self.training:
            self.num_train_steps += 1
        return losses

    @torch.no_grad()
    def _update_prior(self, seg_label: Tensor) -> None:
        """Online prior: count the batch's pixels."""
        if self.prior.mode == 'online':
            self.prior.update(seg_label, ignore_index=self.ignore_index)

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args,
                              **kwargs) -> None:
        # Checkpoints from before the queue followed its prior hold a flag
        # for the queue's layout, which the queue now knows itself.
        state_dict.pop(prefix + 'queue_allocated', None)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
