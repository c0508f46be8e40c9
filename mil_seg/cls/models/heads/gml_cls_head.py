"""GML classification head: cosine classifier, projector, queue, prior."""
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mil_seg.gml import ClassBalancedQueue, ClassPrior
from mmpretrain.models.heads import ClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch import Tensor

from ..utils.class_prior import (build_class_prior, fill_class_prior,
                                 prior_is_empty)


def build_projector(in_channels: int, hidden_channels: int,
                    out_channels: int) -> nn.Sequential:
    """Two-layer MLP projector ``Linear - ReLU - Linear`` (MoCo v2 style).

    No batch norm: the key projector runs on the whole queue, empty slots
    included, whose statistics must not leak into a normalisation.

    Args:
        in_channels (int): Input feature size.
        hidden_channels (int): Hidden size.
        out_channels (int): Embedding size D.

    Returns:
        nn.Sequential: The projector.
    """
    return nn.Sequential(
        nn.Linear(in_channels, hidden_channels), nn.ReLU(inplace=True),
        nn.Linear(hidden_channels, out_channels))


@MODELS.register_module()
class GMLClsHead(ClsHead):
    """Head of GML (Suh & Seo, ICML 2023) for image classification.

    - Cosine classifier: ``logits = cos(f, W) / T_s`` with the fixed scale
      ``1 / T_s`` (30). Training adds ``tau * log pi`` (logit adjustment);
      prediction returns the balanced posterior ``softmax(logits -
      predict_tau * log pi)`` (``predict_tau=0``: no prior).
    - Projector: MLP from the query features to D, L2-normalised.
    - Queue: a :class:`mil_seg.gml.ClassBalancedQueue` of key features
      BEFORE the key projection (K slots, ``base_size`` per class at least);
      the key projector runs on the whole queue every step. The current
      batch's keys are pushed before the loss.
    - Loss: :class:`mil_seg.gml.GMLLoss`, built from ``loss`` through
      mmpretrain's MODELS (``mil_seg.cls`` registers the core there).

    With ``loss.con_weight=0`` no projector nor queue is built (and the
    temperature is not learnt) and the head is the logit-adjusted cosine
    classifier (the stage-1 teacher); it then works in a plain
    ``ImageClassifier``. The contrastive and distillation
    terms need :class:`GMLClassifier`, which supplies the query features,
    the key features and the key projector (a momentum copy of
    ``projector``) or teacher logits.

    The prior's counts, the queue and the temperature are buffers or
    parameters: a checkpoint restores them without the training data.

    Args:
        num_classes (int): Number of classes C.
        in_channels (int): Size of the (pooled) backbone features.
        scale (float): ``1 / T_s`` of the cosine classifier. Defaults to 30.
        proj_dim (int): Embedding size D. Defaults to 32.
        proj_hidden_channels (int, optional): Hidden size of the projector.
            Defaults to None (``in_channels``).
        key_in_channels (int, optional): Size of the key features stored in
            the queue (the teacher's feature size in stage 2). Defaults to
            None (``in_channels``).
        trainable_key_projector (bool): Build a trainable ``key_projector``
            from ``key_in_channels`` to D (stage 2, frozen teacher). If
            False the classifier passes its momentum copy of ``projector``.
            Defaults to False.
        queue (dict): ``ClassBalancedQueue`` arguments other than
            ``num_classes``, ``dim`` and ``class_prior``. Defaults to
            ``dict(size=4096, base_size=2)``.
        prior (dict | ClassPrior, optional): ``ClassPrior`` arguments
            (``counts``, ``file``, ``tau``, ``smoothing``). Defaults to None
            (filled from the training set by ``ClassCountsHook``).
        loss (dict): Config of the GML loss. Defaults to
            ``dict(type='GMLLoss', init_temperature=0.1)`` (plus
            ``num_classes``).
        predict_tau (float): Post-hoc strength: prediction uses ``logits -
            predict_tau * log pi``. Defaults to 0.0.
        topk (int | tuple[int]): Top-k accuracy with ``cal_acc``.
            Defaults to (1, ).
        cal_acc (bool): Log the training accuracy. Defaults to False.
        init_cfg (dict, optional): Initialisation config. Defaults to None
            (PyTorch's default initialisation).
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 scale: float = 30.0,
                 proj_dim: int = 32,
                 proj_hidden_channels: Optional[int] = None,
                 key_in_channels: Optional[int] = None,
                 trainable_key_projector: bool = False,
                 queue: dict = dict(size=4096, base_size=2),
                 prior: Optional[Union[dict, ClassPrior]] = None,
                 loss: dict = dict(type='GMLLoss', init_temperature=0.1),
                 predict_tau: float = 0.0,
                 topk: Union[int, Tuple[int]] = (1, ),
                 cal_acc: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        if isinstance(loss, dict):
            loss = dict(loss)
            loss.setdefault('num_classes', num_classes)
            if loss.get('con_weight', 1.0) == 0:
                # No contrastive term: the temperature is unused, keep it a
                # buffer (an unused parameter breaks DDP).
                loss.setdefault('learn_temperature', False)
        super().__init__(
            loss=loss, topk=topk, cal_acc=cal_acc, init_cfg=init_cfg)
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.scale = scale
        self.predict_tau = predict_tau
        self.key_in_channels = key_in_channels or in_channels
        self.trainable_key_projector = trainable_key_projector

        self.fc = nn.Linear(in_channels, num_classes, bias=False)
        self.prior = build_class_prior(num_classes, prior)

        self.with_contrast = getattr(self.loss_module, 'con_weight', 0) > 0
        self.projector = None
        self.key_projector = None
        self.queue = None
        if self.with_contrast:
            hidden = proj_hidden_channels or in_channels
            self.projector = build_projector(in_channels, hidden, proj_dim)
            if trainable_key_projector:
                self.key_projector = build_projector(
                    self.key_in_channels, proj_hidden_channels
                    or self.key_in_channels, proj_dim)
            self.queue = ClassBalancedQueue(
                num_classes=num_classes,
                dim=self.key_in_channels,
                class_prior=self.prior,
                **queue)

    # ------------------------------------------------------------------
    # Class counts (filled by ClassCountsHook when not in the config)
    # ------------------------------------------------------------------
    @property
    def requires_class_counts(self) -> bool:
        """bool: True while the prior has no counts."""
        return prior_is_empty(self.prior)

    def set_class_counts(self, counts: Sequence[int]) -> None:
        """Fill the prior with the training counts and lay the queue out.

        Args:
            counts (Sequence[int]): C training images per class.
        """
        fill_class_prior(self.prior, counts)
        if self.queue is not None:
            self.queue.allocate(self.prior)

    # ------------------------------------------------------------------
    # Forward
    # ------------------------------------------------------------------
    def forward(self, feats: Tuple[Tensor]) -> Tensor:
        """Cosine logits ``cos(f, W) * scale`` (N x C), no prior."""
        x = self.pre_logits(feats)
        return F.linear(F.normalize(x, dim=1),
                        F.normalize(self.fc.weight, dim=1)) * self.scale

    def embed(self, feats: Tuple[Tensor]) -> Tensor:
        """L2-normalised query embeddings (N x D) of backbone features."""
        return F.normalize(self.projector(self.pre_logits(feats)), dim=1)

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
            key_feats (Tensor, optional): N x ``key_in_channels`` key
                features (before the key projection), pushed into the queue
                before the loss. Defaults to None.
            key_projector (callable, optional): Projector of the queue
                (momentum copy of ``projector``); None uses the head's
                trainable ``key_projector``. Defaults to None.
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
        self._check_labels(labels)
        log_prior = self.prior.log_prior.to(cls_logits.device)

        contrast = dict()
        if self.with_contrast and query_feats is not None \
                and key_feats is not None:
            if key_feats.dim() != 2 or \
                    key_feats.shape[1] != self.key_in_channels:
                raise ValueError(
                    f'key features of shape {tuple(key_feats.shape)} for a '
                    f'queue of {self.key_in_channels}-channel features: set '
                    'model.head.key_in_channels to the key encoder\'s (the '
                    'teacher\'s) feature size.')
            sample_ids = self._sample_ids(data_samples, labels)
            self.queue.push(key_feats.detach(), labels, sample_ids)
            queue_feats, queue_labels, queue_ids, valid = self.queue.get()
            projector = key_projector or self.key_projector
            if projector is None:
                raise RuntimeError(
                    'GMLClsHead has no key projector: pass the momentum copy or '
                    'set trainable_key_projector=True.')
            contrast = dict(
                query=self.embed(query_feats),
                keys=F.normalize(projector(queue_feats), dim=1),
                key_labels=queue_labels,
                query_ids=sample_ids,
                key_ids=queue_ids,
                key_mask=valid)

        losses = self.loss_module(
            cls_logits,
            labels,
            log_prior,
            teacher_logits=teacher_logits,
            **contrast)
        if 'loss_con' in losses and hasattr(self.loss_module,
                                            'log_temperature'):
            losses['temperature'] = self.loss_module.log_temperature.detach(
            ).exp().mean()
        if self.cal_acc:
            from mmpretrain.evaluation.metrics import Accuracy
            acc = Accuracy.calculate(cls_logits, labels, topk=self.topk)
            losses.update(
                {f'accuracy_top-{k}': a
                 for k, a in zip(self.topk, acc)})
        return losses

    def _check_labels(self, labels: Tensor) -> None:
        """Raise a ValueError naming the fix for labels outside [0, C)."""
        bad = (labels < 0) | (labels >= self.num_classes)
        if bad.any():
            values = torch.unique(labels[bad]).tolist()
            raise ValueError(
                f'gt_label {values} outside [0, {self.num_classes}): set '
                'model.head.num_classes (and the teacher\'s) to the '
                'dataset\'s number of classes, or fix the dataset\'s labels.')

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
        """Balanced posterior ``softmax(logits - predict_tau * log pi)``.

        Args:
            feats (tuple[Tensor]): Backbone (neck) features.
            data_samples (list[DataSample], optional): Samples to fill.
                Defaults to None.

        Returns:
            list[DataSample]: With ``pred_score`` and ``pred_label``.
        """
        cls_logits = self(feats)
        if self.predict_tau:
            log_probs = self.prior.probs.log().to(cls_logits.device)
            cls_logits = cls_logits - self.predict_tau * log_probs
        return self._get_predictions(cls_logits, data_samples)
