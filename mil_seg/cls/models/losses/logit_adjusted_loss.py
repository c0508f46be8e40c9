"""Logit-adjusted cross-entropy for mmpretrain classification heads."""
from typing import Optional, Sequence, Union

import torch.nn as nn
import torch.nn.functional as F
from mil_seg.gml import ClassPrior, logit_adjusted_cross_entropy
from mmpretrain.registry import MODELS
from torch import Tensor

from ..utils.class_prior import (build_class_prior, fill_class_prior,
                                 prior_is_empty)


@MODELS.register_module()
class LogitAdjustedLoss(nn.Module):
    """Logit-adjusted cross-entropy (Menon et al., 2021):
    ``CE(logits + tau * log pi, y)``.

    A drop-in for mmpretrain's ``CrossEntropyLoss`` in ``LinearClsHead`` /
    ``ClsHead``: the prior is added only in the loss, so the head's
    prediction is the balanced posterior. Accepts hard labels (N) or soft
    targets (N x C, from Mixup / CutMix).

    Example:
        >>> head = dict(type='LinearClsHead', num_classes=100,
        ...             in_channels=64,
        ...             loss=dict(type='LogitAdjustedLoss', num_classes=100))

    Args:
        num_classes (int): Number of classes C.
        prior (dict | ClassPrior, optional): ClassPrior arguments
            (``counts``, ``file``, ``tau``, ``smoothing``). Defaults to None:
            counts filled from the training dataset by ``ClassCountsHook``.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        loss_name (str): Name of the loss. Defaults to 'loss_la'.
    """

    def __init__(self,
                 num_classes: int,
                 prior: Optional[Union[dict, ClassPrior]] = None,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_la') -> None:
        super().__init__()
        self.num_classes = num_classes
        self.prior = build_class_prior(num_classes, prior)
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        """str: Name of the loss (starts with ``loss_``)."""
        return self._loss_name

    @property
    def requires_class_counts(self) -> bool:
        """bool: True while the prior has no counts."""
        return prior_is_empty(self.prior)

    def set_class_counts(self, counts: Sequence[int]) -> None:
        """Fill the prior with the training set's class counts.

        Args:
            counts (Sequence[int]): C counts.
        """
        fill_class_prior(self.prior, counts)

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            cls_score (Tensor): N x C logits.
            label (Tensor): N labels or N x C soft targets.
            weight (Tensor, optional): N sample weights. Defaults to None.
            avg_factor (float, optional): Divisor of the summed loss.
                Defaults to None (the number of samples).
            reduction_override (str, optional): 'none', 'mean' or 'sum'.
                Defaults to None ('mean').

        Returns:
            Tensor: The weighted loss.
        """
        reduction = reduction_override or 'mean'
        log_prior = self.prior.log_prior.to(cls_score.device)
        if label.dim() == cls_score.dim() and label.shape == cls_score.shape:
            adjusted = cls_score.float() + log_prior
            loss = -(label.float() * F.log_softmax(adjusted, dim=1)).sum(1)
        else:
            loss = logit_adjusted_cross_entropy(
                cls_score, label.reshape(-1).long(), log_prior,
                reduction='none')
        if weight is not None:
            loss = loss * weight.float().reshape(-1)
        if reduction == 'none':
            return self.loss_weight * loss
        if reduction == 'sum':
            return self.loss_weight * loss.sum()
        divisor = avg_factor if avg_factor is not None else loss.numel()
        return self.loss_weight * loss.sum() / max(float(divisor), 1.0)

    def extra_repr(self) -> str:
        return (f'num_classes={self.num_classes}, '
                f'loss_weight={self.loss_weight}')
