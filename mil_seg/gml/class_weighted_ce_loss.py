"""Class-weighted cross-entropy, the re-weighting baseline of long-tailed
learning, with its weights from the class prior."""
from typing import Optional

from torch import Tensor

from .logit_adjusted_ce_loss import LogitAdjustedCELoss
from .prior import PriorConfig


class ClassWeightedCELoss(LogitAdjustedCELoss):
    """Cross-entropy whose classes are weighted by the class prior.

    Weights come from :meth:`ClassPrior.class_weights` (``pi_c **
    -exponent``, or the inverse effective number of samples with ``beta``,
    Cui et al., CVPR 2019), recomputed each step so that an online prior's
    counts apply as they grow. The logits are not adjusted. The average is
    PyTorch's weighted mean over the non-ignored elements (``avg_non_ignore``
    defaults to True): uniform weights give exactly cross-entropy. Ignored
    pixels never index the weights, so a batch with ignored pixels, or only
    ignored pixels, is safe (MMSegmentation 1.2.2's ``class_weight`` path
    fails there; its issues 3412, 3492, 3734 and 3831). Registered in both
    toolboxes, like :class:`LogitAdjustedCELoss`, whose averaging and
    arguments it shares.

    Args:
        prior (str | dict | ClassPrior, optional): The class prior (see
            :func:`~mil_seg.gml.prior.build_class_prior`). Defaults to None:
            an empty prior of ``num_classes`` that ``ClassCountsHook`` fills
            (uniform weights until then).
        num_classes (int, optional): Number of classes C. Defaults to None.
        exponent (float): Power of the inverse class probability: 1 inverse
            frequency, 0.5 square-root inverse. Defaults to 1.0.
        beta (float, optional): Effective-number weighting instead of the
            exponent. Defaults to None.
        reduction (str): 'none', 'mean' or 'sum'. Defaults to 'mean'.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        loss_name (str): Name of the loss item. Defaults to 'loss_cw_ce'.
        avg_non_ignore (bool): Average over non-ignored elements only.
            Defaults to True.
    """

    adjusts_logits = False
    requires_prior = True

    def __init__(self,
                 prior: PriorConfig = None,
                 num_classes: Optional[int] = None,
                 exponent: float = 1.0,
                 beta: Optional[float] = None,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_cw_ce',
                 avg_non_ignore: bool = True) -> None:
        super().__init__(
            prior=prior,
            num_classes=num_classes,
            reduction=reduction,
            loss_weight=loss_weight,
            loss_name=loss_name,
            avg_non_ignore=avg_non_ignore)
        self.exponent = float(exponent)
        self.beta = beta
        self.prior.class_weights(self.exponent, self.beta)  # checks beta

    def _class_weight(self, logits: Tensor) -> Tensor:
        return self.prior.class_weights(self.exponent, self.beta).to(
            logits.device)

    def extra_repr(self) -> str:
        return (super().extra_repr() + f', exponent={self.exponent}, '
                f'beta={self.beta}')
