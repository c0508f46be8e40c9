"""GML classification head: cosine classifier, contrastive branch, prior."""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch import Tensor

from mil_seg.gml.contrast import ContrastiveBranch
from mil_seg.gml.functional import check_labels
from mil_seg.gml.prior import PriorConfig, build_class_prior
from mil_seg.errors import UserError


@MODELS.register_module()
class GMLClsHead(ClsHead):
    """Head of GML (Suh & Seo, ICML 2023) for image classification.

    - Cosine classifier: ``logits = cos(f, W) * classifier_scale``
      (``1 / T_s``). Training adjusts them by the prior (``ClassPrior.
      adjust``: ``+ tau * log pi``); prediction returns the balanced
      posterior, or ``logits - posthoc_tau * log pi``.
    - Contrastive branch (:class:`~mil_seg.gml.contrast.ContrastiveBranch`,
      the step shared with segmentation): projector, class-balanced queue
      of key features before projection (pushed before the loss), keys
      embedded by the momentum copy of the projector that
      :class:`GMLClassifier` passes, or by a trainable key projector when
      the keys are a frozen teacher's (``key_in_channels``).
    - Loss: :class:`~mil_seg.gml.GMLLoss`, built from ``loss_gml`` through
      mmpretrain's MODELS.

    With ``loss_gml.con_weight=0`` no branch is built (and the temperature
    is a buffer): the head is the logit-adjusted cosine classifier (the
    stage-1 teacher) and works in a plain ``ImageClassifier``. The prior's
    counts, the queue and the temperature are buffers or parameters: a
    checkpoint restores them without the training data. Labels are
    range-checked once per step, here.

    Args:
        num_classes (int): Number of classes C.
        in_channels (int): Size of the (pooled) backbone features.
        classifier_scale (float): ``1 / T_s`` of the cosine classifier.
            Defaults to 30.0 (the paper's).
        embed_dim (int): Size D of the contrastive embedding. Defaults to
            32.
        projector_hidden_channels (int, optional): Hidden size of the
            projectors. Defaults to None (their input size).
        key_in_channels (int, optional): Size of a frozen teacher's key
            features (stage 2); builds a trainable key projector. Defaults
            to None (keys from the momentum encoder, ``in_channels``).
        queue (dict): ``ClassBalancedQueue`` arguments other than
            ``num_classes``, ``dim`` and ``prior``. Defaults to
            ``dict(size=4096, base_size=2)``.
        prior (str | dict | ClassPrior, optional): Anything
            :func:`~mil_seg.gml.prior.build_class_prior` accepts. Defaults
            to None (filled from the training set or a prior file by
            ``ClassCountsHook``).
        loss_gml (dict): Config of the GML loss (``type`` and
            ``num_classes`` filled in). Defaults to ``dict(type='GMLLoss',
            init_temperature=0.1)``.
        posthoc_tau (float, optional): Prediction uses ``logits -
            posthoc_tau * log pi``. Defaults to None (the balanced
            posterior).
        topk (int | tuple[int]): Top-k accuracy with ``cal_acc``.
            Defaults to (1, ).
        cal_acc (bool): Log the training accuracy. Defaults to False.
        init_cfg (dict, optional): Initialisation config. Defaults to None
            (PyTorch's default initialisation).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 classifier_scale: float = 30.0,
                 embed_dim: int = 32,
                 projector_hidden_channels: Optional[int] = None,
                 key_in_channels: Optional[int] = None,
                 queue: dict = dict(size=4096, base_size=2),
                 prior: PriorConfig = None,
                 loss_gml: dict = dict(type='GMLLoss', init_temperature=0.1),
                 posthoc_tau: Optional[float] = None,
                 topk: Tuple[int, ...] = (1, ),
                 cal_acc: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        # ClsHead.__init__ only builds the loss from `loss`, which this head
        # builds as `loss_gml`, the name it has on both toolboxes.
        BaseModule.__init__(self, init_cfg=init_cfg)
        self.topk = topk
        self.cal_acc = cal_acc
        self.loss_gml = MODELS.build({
            'type': 'GMLLoss', 'num_classes': num_classes, **loss_gml})
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.classifier_scale = classifier_scale
        self.posthoc_tau = posthoc_tau
        self.key_in_channels = key_in_channels

        self.fc = nn.Linear(in_channels, num_classes, bias=False)
        self.prior = build_class_prior(prior, num_classes)

        self.with_contrastive = self.loss_gml.con_weight > 0
        self.contrast = None
        if self.with_contrastive:
            self.contrast = ContrastiveBranch(
                num_classes,
                in_channels,
                embed_dim=embed_dim,
                projector_hidden_channels=projector_hidden_channels,
                key_in_channels=key_in_channels,
                queue=queue,
                prior=self.prior)

    # ------------------------------------------------------------------
    # Class counts (from ClassCountsHook when not in the config)
    # ------------------------------------------------------------------
    @property
    def requires_class_counts(self) -> bool:
        """bool: True while the prior has no counts."""
        return self.prior.is_empty

    def set_class_counts(self,
                         counts: Sequence[float],
                         *,
                         image_counts: Optional[Sequence[float]] = None,
                         source: Optional[str] = None) -> None:
        """Fill the prior with the training counts (the queue, which follows
        the prior, lays itself out at its first push).

        Args:
            counts (Sequence[float]): C training images per class.
            image_counts (Sequence[float], optional): C training images
                containing each class. Defaults to None.
            source (str, optional): Where the counts come from (unused; the
                hook logs it). Defaults to None.
        """
        self.prior.set_counts(counts, image_counts=image_counts)

    # ------------------------------------------------------------------
    # Forward
    # ------------------------------------------------------------------
    def forward(self, feats: Tuple[Tensor]) -> Tensor:
        """Cosine logits ``cos(f, W) * classifier_scale`` (N x C), no
        prior."""
        x = self.pre_logits(feats)
        return F.linear(
            F.normalize(x, dim=1), F.normalize(
                self.fc.weight, dim=1)) * self.classifier_scale

    def loss(self,
             feats: Tuple[Tensor],
             data_samples: List[DataSample],
             query_feats: Optional[Tuple[Tensor]] = None,
             key_feats: Optional[Tensor] = None,
             key_projector: Optional[Callable[[Tensor], Tensor]] = None,
             teacher_logits: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """GML loss terms of a batch.

        Args:
            feats (tuple[Tensor]): Features of the classification view.
            data_samples (list[DataSample]): With ``gt_label`` and the
                ``sample_idx`` metainfo (dataset index, for self-exclusion).
            query_feats (tuple[Tensor], optional): Features of the query
                view. Defaults to None (no contrastive term).
            key_feats (Tensor, optional): N x F_k key features (before the
                key projection), pushed into the queue before the loss.
                Defaults to None.
            key_projector (callable, optional): Projector of the queue
                (momentum copy of the branch's projector). Defaults to None
                (the branch's own).
            teacher_logits (Tensor, optional): N x C teacher logits of the
                classification view, for distillation. Defaults to None.

        Returns:
            dict[str, Tensor]: ``loss_sup`` [, ``loss_con``,
            ``loss_con_temp``, ``loss_kd``] and the logged ``temperature``
            (mean T_c).
        """
        cls_logits = self(feats)
        labels = torch.cat([s.gt_label for s in data_samples]).to(
            cls_logits.device).long()
        check_labels(labels, self.num_classes, ignore_index=-100)

        contrastive = dict()
        if self.with_contrastive and query_feats is not None \
                and key_feats is not None:
            key_channels = self.key_in_channels or self.in_channels
            if key_feats.dim() != 2 or key_feats.shape[1] != key_channels:
                raise UserError(
                    f'key features of shape {tuple(key_feats.shape)} for a '
                    f'queue of {key_channels}-channel features: set '
                    'model.head.key_in_channels to the key encoder\'s (the '
                    'teacher\'s) feature size.')
            sample_ids = self._sample_ids(data_samples, labels)
            contrastive = self.contrast(
                self.pre_logits(query_feats),
                labels,
                key_feats,
                labels,
                query_ids=sample_ids,
                key_ids=sample_ids,
                key_projector=key_projector)

        losses = self.loss_gml(
            cls_logits,
            labels,
            self.prior,
            teacher_logits=teacher_logits,
            **contrastive)
        if 'loss_con' in losses:
            losses['temperature'] = self.loss_gml.temperature.mean()
        if self.cal_acc:
            from mmpretrain.evaluation.metrics import Accuracy
            acc = Accuracy.calculate(cls_logits, labels, topk=self.topk)
            losses.update(
                {f'accuracy_top-{k}': a
                 for k, a in zip(self.topk, acc)})
        return losses

    @staticmethod
    def _sample_ids(data_samples: List[DataSample],
                    labels: Tensor) -> Optional[Tensor]:
        """Dataset indices of the batch (None if a sample lacks one)."""
        ids = [s.metainfo.get('sample_idx') for s in data_samples]
        if any(i is None for i in ids):
            return None
        return labels.new_tensor([int(i) for i in ids])

    def predict(self,
                feats: Tuple[Tensor],
                data_samples: Optional[List[Optional[DataSample]]] = None
                ) -> List[DataSample]:
        """Balanced posterior ``softmax(logits - posthoc_tau * log pi)``.

        Args:
            feats (tuple[Tensor]): Backbone (neck) features.
            data_samples (list[DataSample], optional): Samples to fill.
                Defaults to None.

        Returns:
            list[DataSample]: With ``pred_score`` and ``pred_label``.
        """
        cls_logits = self(feats)
        if self.posthoc_tau:
            cls_logits = self.prior.adjust(cls_logits, -self.posthoc_tau)
        return self._get_predictions(cls_logits, data_samples)
