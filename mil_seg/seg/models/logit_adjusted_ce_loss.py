"""Pixel-wise logit-adjusted cross-entropy, a drop-in ``loss_decode``."""
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
from mmseg.models.losses.utils import get_class_weight, weight_reduce_loss
from mmseg.registry import MODELS
from torch import Tensor

from mil_seg.gml.functional import logit_adjusted_cross_entropy


def pixel_logit_adjusted_cross_entropy(
        logits: Tensor,
        labels: Tensor,
        log_prior: Tensor,
        pixel_weight: Optional[Tensor] = None,
        class_weight: Optional[Tensor] = None,
        reduction: str = 'mean',
        avg_factor: Optional[float] = None,
        ignore_index: int = 255,
        avg_non_ignore: bool = False) -> Tensor:
    """Cross-entropy on ``logits + log_prior`` with MMSegmentation's averaging.

    The per-pixel loss comes from the core
    :func:`mil_seg.gml.functional.logit_adjusted_cross_entropy`; this wrapper
    adds what ``loss_decode`` users expect from mmseg's ``cross_entropy``:
    per-pixel weights (e.g. from an OHEM sampler), class weights and the
    ``avg_non_ignore`` rule. Unlike mmseg's version it is vectorised and
    never indexes ``class_weight`` with an ignored label, so a batch where
    every pixel is ``ignore_index`` gives 0 with a defined (zero) gradient.

    Args:
        logits (Tensor): Logits, shape (B, C, H, W) (or (N, C)).
        labels (Tensor): Labels, shape (B, H, W) (or (N,)), long.
        log_prior (Tensor): Log class prior (times tau), shape (C,). A zero
            vector gives plain cross-entropy.
        pixel_weight (Tensor, optional): Per-pixel weights, shape of
            ``labels``. Defaults to None.
        class_weight (Tensor, optional): Per-class weights, shape (C,).
            Defaults to None.
        reduction (str): 'none', 'mean' or 'sum'. Defaults to 'mean'.
        avg_factor (float, optional): Divisor of the 'mean' reduction; when
            None it is derived as in mmseg. Defaults to None.
        ignore_index (int): Label ignored by the loss. Defaults to 255.
        avg_non_ignore (bool): Average over non-ignored pixels only (the
            class-weighted count when ``class_weight`` is set) instead of
            all pixels. Defaults to False, as in mmseg.

    Returns:
        Tensor: The reduced loss, or the per-pixel loss for 'none'.
    """
    loss = logit_adjusted_cross_entropy(
        logits,
        labels,
        log_prior,
        ignore_index=ignore_index,
        reduction='none',
        weight=class_weight)
    if avg_factor is None and reduction == 'mean':
        not_ignored = labels != ignore_index
        if class_weight is None:
            avg_factor = (not_ignored.sum() if avg_non_ignore else
                          labels.new_tensor(labels.numel())).float()
        else:
            class_weight = class_weight.to(loss)
            safe_labels = torch.where(not_ignored, labels,
                                      torch.zeros_like(labels))
            label_weight = class_weight[safe_labels]
            if avg_non_ignore:
                label_weight = label_weight * not_ignored
            avg_factor = label_weight.sum()
    if pixel_weight is not None:
        pixel_weight = pixel_weight.float()
    return weight_reduce_loss(
        loss, weight=pixel_weight, reduction=reduction, avg_factor=avg_factor)


@MODELS.register_module()
class LogitAdjustedCELoss(nn.Module):
    """Logit-adjusted cross-entropy for any mmseg decode head.

    ``CE(logits + tau * log pi, y)``, the supervised term of GML (Menon et
    al.'s logit adjustment), usable in the ``loss_decode`` of any
    ``BaseDecodeHead`` in place of ``CrossEntropyLoss``. The prior is only
    added inside the loss: the head's logits, and hence inference, stay
    prior-free (the balanced posterior).

    With an ``'online'`` prior the pixel counts are updated from every
    training batch before the loss is computed (in ``train()`` mode only);
    the counts are a buffer, so they are saved in checkpoints.

    Args:
        prior (dict | nn.Module, optional): Config of a ``ClassPrior`` (e.g.
            ``dict(type='ClassPrior', num_classes=150, file='ade20k')``) or a
            built one. None gives plain cross-entropy. Defaults to None.
        class_weight (Sequence[float] | str, optional): Per-class weights, or
            a file holding them, as in mmseg's ``CrossEntropyLoss``.
            Defaults to None.
        reduction (str): 'none', 'mean' or 'sum'. Defaults to 'mean'.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        loss_name (str): Name of the loss item; must start with ``loss_`` to
            be back-propagated. Defaults to 'loss_la_ce'.
        avg_non_ignore (bool): Average over non-ignored pixels only.
            Defaults to False (mmseg's default).
    """

    def __init__(self,
                 prior: Optional[Union[dict, nn.Module]] = None,
                 class_weight: Optional[Union[Sequence[float], str]] = None,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_la_ce',
                 avg_non_ignore: bool = False) -> None:
        super().__init__()
        if reduction not in ('none', 'mean', 'sum'):
            raise ValueError(f"reduction must be 'none', 'mean' or 'sum', "
                             f'got {reduction!r}')
        if isinstance(prior, dict):
            prior = MODELS.build(prior)
        self.prior = prior
        self.class_weight = get_class_weight(class_weight)
        self.reduction = reduction
        self.loss_weight = loss_weight
        self.avg_non_ignore = avg_non_ignore
        self._loss_name = loss_name

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                ignore_index: int = 255,
                **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            cls_score (Tensor): Logits, shape (B, C, H, W).
            label (Tensor): Labels, shape (B, H, W).
            weight (Tensor, optional): Per-pixel weights. Defaults to None.
            avg_factor (float, optional): Divisor of the mean.
                Defaults to None.
            reduction_override (str, optional): Overrides ``reduction``.
                Defaults to None.
            ignore_index (int): Ignored label; decode heads pass theirs.
                Defaults to 255.

        Returns:
            Tensor: The weighted loss.
        """
        reduction = reduction_override or self.reduction
        num_classes = cls_score.shape[1]
        if self.prior is None:
            log_prior = cls_score.new_zeros(num_classes)
        else:
            if self.training and getattr(self.prior, 'mode',
                                         'fixed') == 'online':
                self.prior.update(label, ignore_index=ignore_index)
            log_prior = self.prior.log_prior
            if log_prior.numel() != num_classes:
                raise ValueError(
                    f'the prior has {log_prior.numel()} classes but the '
                    f'logits have {num_classes}')
        class_weight = (None if self.class_weight is None else
                        cls_score.new_tensor(self.class_weight))
        loss = pixel_logit_adjusted_cross_entropy(
            cls_score,
            label,
            log_prior,
            pixel_weight=weight,
            class_weight=class_weight,
            reduction=reduction,
            avg_factor=avg_factor,
            ignore_index=ignore_index,
            avg_non_ignore=self.avg_non_ignore)
        return self.loss_weight * loss

    @property
    def loss_name(self) -> str:
        """str: Name of the loss item (starts with ``loss_``)."""
        return self._loss_name

    def extra_repr(self) -> str:
        return (f'reduction={self.reduction}, loss_weight={self.loss_weight},'
                f' avg_non_ignore={self.avg_non_ignore}')
