"""Logit-adjusted cross-entropy, the baseline GML's supervised term extends."""
import os.path as osp
from typing import Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.fileio import load
from torch import Tensor

from ..errors import MissingFileError, UserError
from .functional import check_labels, cross_entropy, float32_no_autocast
from .prior import PriorConfig, build_class_prior

REDUCTIONS = ('none', 'mean', 'sum')


def load_class_weight(
        class_weight: Optional[Union[Sequence[float], str]]) -> Optional[list]:
    """Class weights from a list or a file (``.npy``, or JSON / pickle /
    YAML through mmengine), as MMSegmentation's ``class_weight`` takes.

    Args:
        class_weight (Sequence[float] | str, optional): The weights or the
            file holding them.

    Returns:
        list[float] | None: The weights.
    """
    if class_weight is None:
        return None
    if isinstance(class_weight, str):
        if not osp.isfile(class_weight):
            raise MissingFileError(
                f'class_weight file {class_weight} does not exist: pass the '
                'weights as a list or an existing file.')
        if class_weight.endswith('.npy'):
            class_weight = np.load(class_weight)
        else:
            class_weight = load(class_weight)
    return [float(w) for w in np.asarray(class_weight).reshape(-1)]


class LogitAdjustedCELoss(nn.Module):
    """Logit-adjusted cross-entropy (Menon et al., "Long-tail learning via
    logit adjustment", ICLR 2021): ``CE(logits + tau * log pi, y)``.

    A drop-in for either toolbox's ``CrossEntropyLoss``: an MMSegmentation
    head's ``loss_decode`` (pixel logits B x C x H x W, ``ignore_index``
    passed by the head) and an MMPretrain head's ``loss`` (N x C logits,
    hard labels or the soft targets of Mixup / CutMix). The prior enters
    only the loss (through :meth:`ClassPrior.adjust`), so the head's
    prediction is the balanced posterior. Registered in both toolboxes.

    Averaging follows the toolboxes' ``weight_reduce_loss``: the summed loss
    over ``avg_factor`` when given, else the mean over all elements, or over
    the non-ignored ones (class-weighted) with ``avg_non_ignore``. Class
    weights never index with an ignored label, so a batch of only ignored
    pixels gives 0 with a defined gradient. An ``'online'`` prior counts
    every training batch's labels before the loss. Without a prior, or
    with a tau of 0, the loss is plain cross-entropy.

    Args:
        prior (str | dict | ClassPrior, optional): The class prior, anything
            :func:`~mil_seg.gml.prior.build_class_prior` accepts. Defaults to
            None: with ``num_classes``, an empty prior that
            ``ClassCountsHook`` fills (the training set's counts, or a
            prior file's) or a checkpoint restores, and that training
            refuses to run without; without, no prior (plain
            cross-entropy). A prior set up online counts the training
            labels itself and takes no counts from the hook.
        num_classes (int, optional): Number of classes C. Defaults to None
            (the prior's).
        class_weight (Sequence[float] | str, optional): Per-class weights,
            or a file holding them. Defaults to None.
        reduction (str): 'none', 'mean' or 'sum'. Defaults to 'mean'.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        loss_name (str): Name of the loss item; must start with ``loss_`` to
            be back-propagated. Defaults to 'loss_la_ce'.
        avg_non_ignore (bool): Average over non-ignored elements only.
            Defaults to False (MMSegmentation's default).
    """

    #: Whether the loss adds the log prior to the logits.
    adjusts_logits = True
    #: Whether the loss cannot do without class statistics (a prior, or
    #: ``num_classes`` for ``ClassCountsHook`` to fill).
    requires_prior = False

    def __init__(self,
                 prior: PriorConfig = None,
                 num_classes: Optional[int] = None,
                 class_weight: Optional[Union[Sequence[float], str]] = None,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_la_ce',
                 avg_non_ignore: bool = False) -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise UserError(f'reduction must be one of {REDUCTIONS}, got '
                            f'{reduction!r}')
        if self.requires_prior and prior is None and num_classes is None:
            raise UserError(
                f'{type(self).__name__} needs its class statistics: set '
                "prior (e.g. dict(type='ClassPrior', file=...)) or "
                'num_classes (filled by ClassCountsHook)')
        self.prior = None
        if prior is not None or num_classes is not None:
            self.prior = build_class_prior(prior, num_classes)
        # Counts travel one way: a prior set up online counts the training
        # labels itself; an empty one from num_classes waits for the hook.
        self.counts_online = prior is not None and \
            self.prior.mode == 'online'
        self._has_counts = False  # once known (saves a sync per step)
        self.num_classes = num_classes or getattr(self.prior, 'num_classes',
                                                  None)
        self.class_weight = load_class_weight(class_weight)
        self.reduction = reduction
        self.loss_weight = loss_weight
        self.avg_non_ignore = avg_non_ignore
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        """str: Name of the loss item (starts with ``loss_``)."""
        return self._loss_name

    @property
    def requires_class_counts(self) -> bool:
        """bool: True while a prior that does not count online has no
        counts (``ClassCountsHook`` fills them)."""
        return self.prior is not None and not self.counts_online and \
            self.prior.is_empty

    def _check_counts(self) -> None:
        """Refuse to train on an empty prior that waits for its counts."""
        if self._has_counts or not self.requires_class_counts:
            self._has_counts = True
            return
        raise UserError(
            f'{type(self).__name__} has no class counts: add '
            "dict(type='ClassCountsHook') to custom_hooks (the training "
            "set's counts), or give the loss a prior (a file, counts, or "
            "dict(type='ClassPrior', mode='online') to count the training "
            'labels).')

    def set_class_counts(self,
                         counts: Sequence[float],
                         *,
                         image_counts: Optional[Sequence[float]] = None,
                         source: Optional[str] = None) -> None:
        """Fill the prior with the training set's class counts.

        Args:
            counts (Sequence[float]): C counts.
            image_counts (Sequence[float], optional): C training images
                containing each class. Defaults to None.
            source (str, optional): Where the counts come from (unused).
                Defaults to None.
        """
        self.prior.set_counts(counts, image_counts=image_counts)

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                ignore_index: int = -100,
                **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            cls_score (Tensor): Logits, N x C or B x C x H x W.
            label (Tensor): Labels (N or B x H x W) or soft targets shaped
                like ``cls_score``.
            weight (Tensor, optional): Per-element weights, the shape of
                the labels. Defaults to None.
            avg_factor (float, optional): Divisor of the summed loss.
                Defaults to None (see the class docstring).
            reduction_override (str, optional): Overrides ``reduction``.
                Defaults to None.
            ignore_index (int): Ignored label; mmseg's decode heads pass
                theirs. Defaults to -100.

        Returns:
            Tensor: The weighted loss.
        """
        reduction = reduction_override or self.reduction
        if self.training:
            self._check_counts()
        soft = label.shape == cls_score.shape and label.dim() > 1
        if not soft:
            label = label.long()
            check_labels(label, cls_score.shape[1], ignore_index)
            if self.training and self.counts_online:
                self.prior.update(label, ignore_index=ignore_index)
        with float32_no_autocast(cls_score):
            adjusted = self._loss_logits(cls_score, label, soft,
                                         ignore_index)
            class_weight = self._class_weight(adjusted)
            if soft:
                loss = -(label.float() * F.log_softmax(adjusted, 1)).sum(1)
            else:
                loss = cross_entropy(
                    adjusted,
                    label,
                    ignore_index=ignore_index,
                    reduction='none',
                    weight=class_weight)
        if avg_factor is None and reduction == 'mean' and not soft:
            avg_factor = self._default_avg_factor(label, ignore_index,
                                                  class_weight)
        if weight is not None:
            loss = loss * weight.float().reshape(loss.shape)
        return self.loss_weight * self._reduce(loss, reduction, avg_factor)

    def _loss_logits(self, cls_score: Tensor, label: Tensor, soft: bool,
                     ignore_index: int) -> Tensor:
        """The float32 logits the cross-entropy is taken of (after the
        online prior has counted this batch)."""
        if self.prior is not None and self.adjusts_logits:
            return self.prior.adjust(cls_score)
        return cls_score.float()

    def _class_weight(self, logits: Tensor) -> Optional[Tensor]:
        """The C class weights of this step (None: unweighted)."""
        return (None if self.class_weight is None else logits.new_tensor(
            self.class_weight))

    def _default_avg_factor(self, label: Tensor, ignore_index: int,
                            class_weight: Optional[Tensor]) -> Tensor:
        """The divisor of the mean: MMSegmentation's rule."""
        not_ignored = label != ignore_index
        if class_weight is None:
            return (not_ignored.sum() if self.avg_non_ignore else
                    label.new_tensor(label.numel())).float()
        safe_label = torch.where(not_ignored, label, torch.zeros_like(label))
        label_weight = class_weight[safe_label]
        if self.avg_non_ignore:
            label_weight = label_weight * not_ignored
        return label_weight.sum()

    @staticmethod
    def _reduce(loss: Tensor, reduction: str,
                avg_factor: Optional[Union[float, Tensor]]) -> Tensor:
        """Both toolboxes' ``weight_reduce_loss`` (weights already
        applied)."""
        if avg_factor is None:
            if reduction == 'mean':
                return loss.mean()
            return loss.sum() if reduction == 'sum' else loss
        if reduction == 'mean':
            # The toolboxes' epsilon keeps an all-ignored batch finite.
            return loss.sum() / (avg_factor + torch.finfo(torch.float32).eps)
        if reduction == 'none':
            return loss
        raise UserError('avg_factor can not be used with reduction="sum".')

    def extra_repr(self) -> str:
        return (f'num_classes={self.num_classes}, reduction={self.reduction},'
                f' loss_weight={self.loss_weight}, '
                f'avg_non_ignore={self.avg_non_ignore}')
