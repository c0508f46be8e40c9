"""The GML loss as a module holding the learnable per-class temperature."""
import math
from typing import Dict, Optional

import torch
import torch.nn as nn
from torch import Tensor

from ..errors import UserError
from .functional import (cross_entropy, distillation_kl,
                         gml_contrastive_terms, mean_divisor)
from .prior import ClassPrior


def _masked_mean(values: Tensor, valid: Tensor) -> Tensor:
    """Mean of ``values`` over ``valid``; 0 (with a zero gradient) if none."""
    total = torch.where(valid, values, torch.zeros_like(values)).sum()
    return total / valid.sum().clamp_min(1).to(values.dtype)


class GMLLoss(nn.Module):
    """GML loss: ``gamma * L_sup + beta * (L_con + L_con_T) + alpha * L_kd``.

    Task-agnostic: a sample is an image (classification) or a pixel /
    sampled anchor (segmentation). The adapters compute the cosine logits,
    the query and key embeddings and the prior; this module adds the terms.

    - ``L_sup``: cross-entropy on ``prior.adjust(cls_logits)``, the logits
      plus ``tau * log pi`` (logit adjustment, see
      :meth:`~mil_seg.gml.ClassPrior.adjust`).
    - ``L_con`` / ``L_con_T``: see :func:`gml_contrastive_terms`; each is
      averaged over its valid queries (a query whose class has no usable key
      is left out).
    - ``L_kd``: ``T^2 * KL`` from the teacher's logits, averaged over the
      positions whose label is not ``ignore_index`` (the prior is not added).

    With ``con_weight=0`` and ``kd_weight=0`` it is exactly the
    logit-adjusted cross-entropy ``F.cross_entropy(prior.adjust(cls_logits),
    labels)`` times ``sup_weight``.

    ``class_weight_exponent`` weights ``L_sup``'s samples by
    :meth:`~mil_seg.gml.ClassPrior.class_weights` of their class (``pi_c **
    -exponent``), the re-weighting of class-weighted cross-entropy, so that
    the contrastive term can be put on a class-weighted supervised term.
    The weighted term is the weighted mean over the non-ignored samples
    (PyTorch's, as :class:`~mil_seg.losses.ClassWeightedCELoss` under a
    decode head), so its scale does not change with the exponent; with the
    prior strength 0 and the other terms off it is that loss.
    ``sup_logit_adjustment=False`` leaves ``L_sup`` on the logits as they
    are while the contrastive terms keep the prior's adjustment: with class
    weights, that is class-weighted cross-entropy (which re-weights instead
    of adjusting, so adjusting too would correct for the prior twice) with
    GML's contrastive term added, whatever the prior strength.

    The temperature is stored as ``log_temperature``: (C,) with
    ``temperature='per_class'`` (one T_c per class, as the paper writes the
    objective), (1,) with ``'shared'`` (one contrastive temperature for all
    classes, as the authors' release learns it, ``log_T_c``), broadcast to
    every class in the terms, so its gradient is the sum of the per-class
    ones. It is a parameter
    only when it is learnt, i.e. with ``learn_temperature`` and a
    contrastive term (``con_weight > 0``); otherwise a buffer, so that a
    config never builds a parameter without gradient (which DDP refuses).
    It must not be weight-decayed; in the optimizer wrapper config write
    ``paramwise_cfg=dict(custom_keys={'log_temperature':
    dict(decay_mult=0.0)})``. Nothing else (no parameter-name trick) selects
    it. Labels are not checked here: the adapters check a step's labels
    once (:func:`~mil_seg.gml.functional.check_labels`).

    Args:
        num_classes (int): Number of classes C.
        sup_weight (float): gamma, weight of ``L_sup``. Defaults to 1.0.
        con_weight (float): beta, weight of ``L_con`` and ``L_con_T``.
            Defaults to 1.0.
        kd_weight (float): alpha, weight of ``L_kd``. Defaults to 0.0.
        init_temperature (float): Initial T_c of every class (paper: 0.07 on
            ImageNet-LT, 0.1 on CIFAR). Defaults to 0.1.
        learn_temperature (bool): Learn T_c with ``L_con_T`` (a
            ``nn.Parameter``) when the contrastive term is on; if False, or
            with ``con_weight=0``, T_c is a fixed buffer and ``L_con_T`` is
            not returned. Defaults to True.
        kd_temperature (float): Distillation temperature. Defaults to 4.0.
        temperature (str): ``'per_class'`` or ``'shared'`` (see above).
            Defaults to 'per_class'.
        class_weight_exponent (float, optional): Weight ``L_sup``'s samples
            by their class's ``pi_c ** -exponent`` (0.5: square-root
            inverse frequency). Defaults to None (unweighted).
        sup_logit_adjustment (bool): Add the prior's adjustment to
            ``L_sup``'s logits; the contrastive terms always have it.
            Defaults to True.
    """

    TEMPERATURES = ('per_class', 'shared')

    def __init__(self,
                 num_classes: int,
                 sup_weight: float = 1.0,
                 con_weight: float = 1.0,
                 kd_weight: float = 0.0,
                 init_temperature: float = 0.1,
                 learn_temperature: bool = True,
                 kd_temperature: float = 4.0,
                 temperature: str = 'per_class',
                 class_weight_exponent: Optional[float] = None,
                 sup_logit_adjustment: bool = True) -> None:
        super().__init__()
        if temperature not in self.TEMPERATURES:
            raise UserError(f'temperature must be one of {self.TEMPERATURES},'
                            f' got {temperature!r}')
        if num_classes < 1:
            raise UserError(f'num_classes must be >= 1, got {num_classes}')
        if init_temperature <= 0:
            raise UserError('init_temperature must be > 0, got '
                            f'{init_temperature}')
        for name, value in (('sup_weight', sup_weight),
                            ('con_weight', con_weight),
                            ('kd_weight', kd_weight)):
            if value < 0:
                raise UserError(f'{name} must be >= 0, got {value}')
        if class_weight_exponent is not None and class_weight_exponent < 0:
            raise UserError('class_weight_exponent must be >= 0 (0.5: '
                            'square-root inverse frequency), got '
                            f'{class_weight_exponent}')
        self.num_classes = num_classes
        self.class_weight_exponent = class_weight_exponent
        self.sup_logit_adjustment = sup_logit_adjustment
        self.sup_weight = sup_weight
        self.con_weight = con_weight
        self.kd_weight = kd_weight
        self.kd_temperature = kd_temperature
        self.learn_temperature = learn_temperature and con_weight > 0
        self.temperature_mode = temperature
        log_temperature = torch.full(
            (num_classes if temperature == 'per_class' else 1, ),
            math.log(init_temperature))
        if self.learn_temperature:
            self.log_temperature = nn.Parameter(log_temperature)
        else:
            self.register_buffer('log_temperature', log_temperature)

    @property
    def class_log_temperature(self) -> Tensor:
        """Tensor: (C,) ``log T_c`` of every class (a shared temperature
        broadcast, with its gradient)."""
        return self.log_temperature.expand(self.num_classes)

    @property
    def temperature(self) -> Tensor:
        """Tensor: the per-class temperature ``exp(log_temperature)``, (C,),
        detached."""
        return self.class_log_temperature.detach().exp()

    def forward(self,
                cls_logits: Tensor,
                labels: Tensor,
                prior: ClassPrior,
                query: Optional[Tensor] = None,
                keys: Optional[Tensor] = None,
                key_labels: Optional[Tensor] = None,
                query_ids: Optional[Tensor] = None,
                key_ids: Optional[Tensor] = None,
                key_mask: Optional[Tensor] = None,
                teacher_logits: Optional[Tensor] = None,
                ignore_index: int = -100,
                avg_non_ignore: bool = True,
                query_labels: Optional[Tensor] = None,
                query_group_ids: Optional[Tensor] = None,
                key_group_ids: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Compute the weighted loss terms.

        Args:
            cls_logits (Tensor): N x C [x H x W] classifier logits, already
                scaled (cosine / T_s).
            labels (Tensor): N [x H x W] labels of ``cls_logits`` (long).
            prior (ClassPrior): The class prior; adjusts the logits and
                the contrastive class scores.
            query (Tensor, optional): M x D query embeddings. Defaults to
                None (no contrastive term).
            keys (Tensor, optional): K x D key embeddings (e.g. the projected
                queue). Defaults to None.
            key_labels (Tensor, optional): K key classes. Required with
                ``keys``. Defaults to None.
            query_ids (Tensor, optional): M sample ids of the queries, for
                self-exclusion in ``L_con_T``. Defaults to None.
            key_ids (Tensor, optional): K sample ids of the keys. Defaults to
                None.
            key_mask (Tensor, optional): bool K or M x K usable keys.
                Defaults to None (all).
            teacher_logits (Tensor, optional): teacher logits shaped like
                ``cls_logits``. Defaults to None (no distillation).
            ignore_index (int): Ignored label value (also for the queries).
                Defaults to -100.
            avg_non_ignore (bool): see
                :func:`~mil_seg.gml.functional.cross_entropy`. Defaults to
                True.
            query_labels (Tensor, optional): M classes of the queries, for
                when they are not the rows of ``labels`` (segmentation
                anchors). Defaults to None (``labels``, which must then be
                1-D).
            query_group_ids (Tensor, optional): M groups of the queries
                (segmentation: their image); a query meets no key of its
                group, in both terms. Defaults to None.
            key_group_ids (Tensor, optional): K groups of the keys (negative:
                none). Defaults to None.

        Returns:
            dict[str, Tensor]: weighted scalar terms: ``loss_sup`` always;
            ``loss_con`` (and ``loss_con_temp`` if the temperature is
            learnt) when query and keys are given and ``con_weight > 0``;
            ``loss_kd`` when ``teacher_logits`` is given and
            ``kd_weight > 0``.
        """
        losses = dict()
        losses['loss_sup'] = self.sup_weight * self._supervised(
            prior.adjust(cls_logits) if self.sup_logit_adjustment else
            cls_logits, labels, prior, ignore_index, avg_non_ignore)

        if self.con_weight > 0 and query is not None and keys is not None:
            if key_labels is None:
                raise UserError('key_labels is required with keys.')
            if query_labels is None:
                if labels.dim() != 1:
                    raise UserError(
                        'labels are not one per query: pass query_labels '
                        '(the class of each query).')
                query_labels = labels
            # ignore_index rows get a label outside [0, C): they are invalid.
            query_labels = torch.where(
                query_labels == ignore_index,
                torch.full_like(query_labels, -1), query_labels)
            terms = gml_contrastive_terms(
                query,
                keys,
                key_labels,
                query_labels,
                prior.adjust,
                self.class_log_temperature,
                query_ids=query_ids,
                key_ids=key_ids,
                key_mask=key_mask,
                query_group_ids=query_group_ids,
                key_group_ids=key_group_ids)
            losses['loss_con'] = self.con_weight * _masked_mean(
                terms['loss_con'], terms['valid_con'])
            if self.learn_temperature:
                losses['loss_con_temp'] = self.con_weight * _masked_mean(
                    terms['loss_temp'], terms['valid_temp'])

        if self.kd_weight > 0 and teacher_logits is not None:
            kd = distillation_kl(
                cls_logits,
                teacher_logits,
                temperature=self.kd_temperature,
                reduction='none')
            losses['loss_kd'] = self.kd_weight * _masked_mean(
                kd, labels != ignore_index)
        return losses

    def _supervised(self, logits: Tensor, labels: Tensor,
                    prior: ClassPrior, ignore_index: int,
                    avg_non_ignore: bool) -> Tensor:
        """``L_sup`` on its logits (adjusted or not): the mean
        cross-entropy, or its class-weighted mean over the non-ignored
        samples."""
        if self.class_weight_exponent is None:
            return cross_entropy(logits, labels, ignore_index=ignore_index,
                                 reduction='mean',
                                 avg_non_ignore=avg_non_ignore)
        weights = prior.class_weights(self.class_weight_exponent).to(
            logits.device)
        total = cross_entropy(logits, labels, ignore_index=ignore_index,
                              reduction='sum', weight=weights)
        return total / mean_divisor(labels, ignore_index, weights).clamp_min(
            torch.finfo(total.dtype).tiny)

    def extra_repr(self) -> str:
        return (f'num_classes={self.num_classes}, '
                f'sup_weight={self.sup_weight}, '
                f'con_weight={self.con_weight}, kd_weight={self.kd_weight}, '
                f'learn_temperature={self.learn_temperature}, '
                f'temperature={self.temperature_mode!r}, '
                f'kd_temperature={self.kd_temperature}, '
                f'class_weight_exponent={self.class_weight_exponent}, '
                f'sup_logit_adjustment={self.sup_logit_adjustment}')
