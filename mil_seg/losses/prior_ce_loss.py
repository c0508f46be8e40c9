"""The neutral part every baseline shares: cross-entropy over the logits a
method builds, with both toolboxes' averaging, and the module around it
that holds the class prior."""
import os.path as osp
from typing import Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.fileio import load
from torch import Tensor

from ..errors import MissingFileError, UserError
from ..gml.functional import check_labels, cross_entropy, mean_divisor
from ..gml.prior import PriorConfig, build_class_prior

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


def is_soft(logits: Tensor, label: Tensor) -> bool:
    """Whether ``label`` holds soft targets (Mixup / CutMix): shaped like
    the logits, rather than class indices."""
    return label.shape == logits.shape and label.dim() > 1


def prior_ce_loss(logits: Tensor,
                  label: Tensor,
                  weight: Optional[Tensor] = None,
                  class_weight: Optional[Tensor] = None,
                  reduction: str = 'mean',
                  avg_factor: Optional[Union[float, Tensor]] = None,
                  ignore_index: int = -100,
                  avg_non_ignore: bool = False) -> Tensor:
    """Cross-entropy of float32 logits that a method built (from a
    :class:`~mil_seg.gml.ClassPrior` or not), averaged as both toolboxes'
    ``weight_reduce_loss``.

    The summed loss over ``avg_factor`` when given, else (``'mean'``) over
    all elements, or over the non-ignored ones, class-weighted, with
    ``avg_non_ignore``. Class weights never index with an ignored label, so
    a batch of only ignored pixels gives 0 with a defined gradient. Soft
    targets take no class weights and average over all elements.

    Args:
        logits (Tensor): Float32 logits, N x C or B x C x H x W.
        label (Tensor): Class indices (N or B x H x W, long) or soft
            targets shaped like ``logits``.
        weight (Tensor, optional): Per-element weights, the shape of the
            labels. Defaults to None.
        class_weight (Tensor, optional): C class weights. Defaults to None.
        reduction (str): 'none', 'mean' or 'sum'. Defaults to 'mean'.
        avg_factor (float | Tensor, optional): Divisor of the summed loss.
            Defaults to None (see above).
        ignore_index (int): Ignored label. Defaults to -100.
        avg_non_ignore (bool): Average over non-ignored elements only.
            Defaults to False (MMSegmentation's default).

    Returns:
        Tensor: The loss (per element for ``'none'``).
    """
    soft = is_soft(logits, label)
    if soft:
        loss = -(label.float() * F.log_softmax(logits, 1)).sum(1)
    else:
        loss = cross_entropy(logits,
                             label,
                             ignore_index=ignore_index,
                             reduction='none',
                             weight=class_weight)
    if avg_factor is None and reduction == 'mean' and not soft:
        avg_factor = mean_divisor(label, ignore_index, class_weight,
                                  avg_non_ignore)
    if weight is not None:
        loss = loss * weight.float().reshape(loss.shape)
    return _reduce(loss, reduction, avg_factor)


def _reduce(loss: Tensor, reduction: str,
            avg_factor: Optional[Union[float, Tensor]]) -> Tensor:
    """Both toolboxes' ``weight_reduce_loss`` (weights already applied)."""
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


class PriorCELoss(nn.Module):
    """The neutral base of the baselines: what a cross-entropy over
    prior-aware logits holds, none of its maths.

    It builds the class prior, checks the hard labels once and counts them
    into an ``'online'`` prior in training, and carries the arguments both
    toolboxes' losses share. Each subclass is a thin registered module whose
    ``forward`` calls its method's plain function (which ends in
    :func:`prior_ce_loss`) with :meth:`_labels` and :meth:`_reduction`.

    Args:
        prior (str | dict | ClassPrior, optional): The class prior, anything
            :func:`~mil_seg.gml.prior.build_class_prior` accepts. Defaults to
            None: with ``num_classes``, an empty prior that
            ``ClassCountsHook`` fills (the training set's counts, or a
            prior file's) or a checkpoint restores, and that training
            refuses to run without; without, no prior. A prior set up
            online counts the training labels itself and takes no counts
            from the hook.
        num_classes (int, optional): Number of classes C. Defaults to None
            (the prior's).
        reduction (str): 'none', 'mean' or 'sum'. Defaults to 'mean'.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        loss_name (str): Name of the loss item; must start with ``loss_`` to
            be back-propagated. Defaults to 'loss_ce'.
        avg_non_ignore (bool): Average over non-ignored elements only.
            Defaults to False.
        requires_prior (bool): Refuse to build without a prior or
            ``num_classes`` (the method cannot do without class
            statistics). Defaults to False.
        counts_from_training_set (bool): An empty prior waits for the
            training set's counts (``requires_class_counts``, filled by
            ``ClassCountsHook``); False for a prior that only counts the
            batches the loss sees. Defaults to True.
    """

    def __init__(self,
                 prior: PriorConfig = None,
                 num_classes: Optional[int] = None,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_ce',
                 avg_non_ignore: bool = False,
                 requires_prior: bool = False,
                 counts_from_training_set: bool = True) -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise UserError(f'reduction must be one of {REDUCTIONS}, got '
                            f'{reduction!r}')
        if requires_prior and prior is None and num_classes is None:
            raise UserError(
                f'{type(self).__name__} needs its class statistics: set '
                "prior (e.g. dict(type='ClassPrior', file=...)) or "
                'num_classes (filled by ClassCountsHook)')
        self.prior = None
        if prior is not None or num_classes is not None:
            self.prior = build_class_prior(prior, num_classes)
        self.num_classes = num_classes or getattr(self.prior, 'num_classes',
                                                  None)
        self.reduction = reduction
        self.loss_weight = loss_weight
        self.avg_non_ignore = avg_non_ignore
        self.counts_from_training_set = counts_from_training_set
        # Counts travel one way: a prior set up online (or a method's own
        # running counts) counts the training labels itself; an empty one
        # from num_classes waits for the hook.
        self.counts_online = (getattr(self.prior, 'mode', '') == 'online'
                              and (prior is not None
                                   or not counts_from_training_set))
        self._has_counts = False  # once known (saves a sync per step)
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        """str: Name of the loss item (starts with ``loss_``)."""
        return self._loss_name

    @property
    def requires_class_counts(self) -> bool:
        """bool: True while a prior that does not count online has no
        counts (``ClassCountsHook`` fills them)."""
        return (self.prior is not None and not self.counts_online
                and self.prior.is_empty)

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

    def _labels(self, cls_score: Tensor, label: Tensor,
                ignore_index: int) -> Tensor:
        """The labels of a step: hard ones as long, checked once and, in
        training, counted into an ``'online'`` prior; soft targets as
        given."""
        if self.training:
            self._check_counts()
        if is_soft(cls_score, label):
            return label
        label = label.long()
        check_labels(label, cls_score.shape[1], ignore_index)
        if self.training and self.counts_online:
            self.prior.update(label, ignore_index=ignore_index)
        return label

    def _reduction(self, reduction_override: Optional[str]) -> str:
        return reduction_override or self.reduction

    def extra_repr(self) -> str:
        return (f'num_classes={self.num_classes}, reduction={self.reduction},'
                f' loss_weight={self.loss_weight}, '
                f'avg_non_ignore={self.avg_non_ignore}')
