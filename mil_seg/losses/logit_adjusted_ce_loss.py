"""Logit-adjusted cross-entropy, the baseline GML's supervised term extends."""
from typing import Optional, Sequence, Union

from torch import Tensor

from ..gml.functional import float32_no_autocast
from ..gml.prior import ClassPrior, PriorConfig
from .prior_ce_loss import PriorCELoss, load_class_weight, prior_ce_loss


def logit_adjusted_ce_loss(cls_score: Tensor,
                           label: Tensor,
                           prior: Optional[ClassPrior] = None,
                           weight: Optional[Tensor] = None,
                           class_weight: Optional[Sequence[float]] = None,
                           reduction: str = 'mean',
                           avg_factor: Optional[float] = None,
                           ignore_index: int = -100,
                           avg_non_ignore: bool = False) -> Tensor:
    """``CE(logits + tau * log pi, y)`` (Menon et al., ICLR 2021).

    The adjustment is :meth:`ClassPrior.adjust`; without a prior, or with a
    tau of 0, this is plain cross-entropy. Averaging as
    :func:`~mil_seg.losses.prior_ce_loss.prior_ce_loss`.

    Args:
        cls_score (Tensor): Logits, N x C or B x C x H x W.
        label (Tensor): Class indices or soft targets shaped like
            ``cls_score``.
        prior (ClassPrior, optional): The class prior. Defaults to None.
        weight (Tensor, optional): Per-element weights. Defaults to None.
        class_weight (Sequence[float], optional): C class weights.
            Defaults to None.
        reduction (str): 'none', 'mean' or 'sum'. Defaults to 'mean'.
        avg_factor (float, optional): Divisor of the summed loss. Defaults
            to None.
        ignore_index (int): Ignored label. Defaults to -100.
        avg_non_ignore (bool): Average over non-ignored elements only.
            Defaults to False.

    Returns:
        Tensor: The loss.
    """
    with float32_no_autocast(cls_score):
        logits = (cls_score.float()
                  if prior is None else prior.adjust(cls_score))
        return prior_ce_loss(logits,
                             label,
                             weight=weight,
                             class_weight=(None if class_weight is None else
                                           logits.new_tensor(class_weight)),
                             reduction=reduction,
                             avg_factor=avg_factor,
                             ignore_index=ignore_index,
                             avg_non_ignore=avg_non_ignore)


class LogitAdjustedCELoss(PriorCELoss):
    """Logit-adjusted cross-entropy (Menon et al., "Long-tail learning via
    logit adjustment", ICLR 2021): ``CE(logits + tau * log pi, y)``, see
    :func:`logit_adjusted_ce_loss`.

    A drop-in for either toolbox's ``CrossEntropyLoss``: an MMSegmentation
    head's ``loss_decode`` (pixel logits B x C x H x W, ``ignore_index``
    passed by the head) and an MMPretrain head's ``loss`` (N x C logits,
    hard labels or the soft targets of Mixup / CutMix). The prior enters
    only the loss (through :meth:`ClassPrior.adjust`), so the head's
    prediction is the balanced posterior. Registered in both toolboxes.

    Averaging follows the toolboxes' ``weight_reduce_loss`` (see
    :func:`~mil_seg.losses.prior_ce_loss.prior_ce_loss`). An ``'online'``
    prior counts every training batch's labels before the loss. Without a
    prior, or with a tau of 0, the loss is plain cross-entropy.

    Args:
        prior (str | dict | ClassPrior, optional): The class prior, anything
            :func:`~mil_seg.gml.prior.build_class_prior` accepts. Defaults to
            None: with ``num_classes``, an empty prior, uniform until its
            counts come (the classification adapter's ``ClassCountsHook``
            fills it with the training set's, or a checkpoint); without,
            no prior (plain cross-entropy).
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

    def __init__(self,
                 prior: PriorConfig = None,
                 num_classes: Optional[int] = None,
                 class_weight: Optional[Union[Sequence[float], str]] = None,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_la_ce',
                 avg_non_ignore: bool = False) -> None:
        super().__init__(prior=prior,
                         num_classes=num_classes,
                         reduction=reduction,
                         loss_weight=loss_weight,
                         loss_name=loss_name,
                         avg_non_ignore=avg_non_ignore)
        self.class_weight = load_class_weight(class_weight)

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
        label = self._labels(cls_score, label, ignore_index)
        return self.loss_weight * logit_adjusted_ce_loss(
            cls_score,
            label,
            prior=self.prior,
            weight=weight,
            class_weight=self.class_weight,
            reduction=self._reduction(reduction_override),
            avg_factor=avg_factor,
            ignore_index=ignore_index,
            avg_non_ignore=self.avg_non_ignore)
