"""Balancing Logit Variation (BLV), a long-tailed segmentation baseline."""
from typing import Optional

import torch
from torch import Tensor

from ..errors import UserError
from .logit_adjusted_ce_loss import LogitAdjustedCELoss
from .prior import PriorConfig


class BLVLoss(LogitAdjustedCELoss):
    """Cross-entropy on logits perturbed in training by class-scaled noise.

    Balancing Logit Variation (Wang et al., "Balancing Logit Variation for
    Long-tailed Semantic Segmentation", CVPR 2023; its public code,
    ``BlvLoss``): each training logit ``z[n, c]`` becomes ``z[n, c] +
    |clamp(e, -1, 1)| * f_c / max(f)``, with ``e ~ N(0, sigma^2)`` drawn per
    element and ``f_c = log(pi_max) - log(pi_c)``, so the most frequent
    class is never perturbed and the rarest the most. The class statistics
    come from :class:`~mil_seg.gml.ClassPrior` (the authors pass pixel
    counts; their log ratios are the same up to the prior's smoothing).
    Evaluation and prediction use the plain logits (the loss only is
    changed). ``sigma=0`` is cross-entropy. Registered in both toolboxes;
    averaging as :class:`LogitAdjustedCELoss`.

    Args:
        prior (str | dict | ClassPrior, optional): The class prior. Defaults
            to None: an empty prior of ``num_classes`` (no noise until
            ``ClassCountsHook`` fills it).
        num_classes (int, optional): Number of classes C. Defaults to None.
        sigma (float): Standard deviation of the noise before its clamp to
            [-1, 1]; the authors use 4. Defaults to 4.0.
        reduction (str): 'none', 'mean' or 'sum'. Defaults to 'mean'.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        loss_name (str): Name of the loss item. Defaults to 'loss_blv'.
        avg_non_ignore (bool): Average over non-ignored elements only.
            Defaults to True.
    """

    adjusts_logits = False
    requires_prior = True

    def __init__(self,
                 prior: PriorConfig = None,
                 num_classes: Optional[int] = None,
                 sigma: float = 4.0,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_blv',
                 avg_non_ignore: bool = True) -> None:
        if not sigma >= 0:
            raise UserError(f'sigma must be >= 0, got {sigma}')
        super().__init__(
            prior=prior,
            num_classes=num_classes,
            reduction=reduction,
            loss_weight=loss_weight,
            loss_name=loss_name,
            avg_non_ignore=avg_non_ignore)
        self.sigma = float(sigma)

    def noise_scale(self) -> Tensor:
        """``f_c / max(f)``: (C,) float32 in [0, 1], 0 for the most frequent
        class (and for every class of an empty prior)."""
        log_probs = self.prior.probs_float64.log()
        gaps = log_probs.max() - log_probs
        return (gaps / gaps.max().clamp_min(1e-12)).float()

    def perturb(self, cls_score: Tensor) -> Tensor:
        """The training logits: ``cls_score`` plus the class-scaled noise.

        Args:
            cls_score (Tensor): Logits, N x C or B x C x H x W.

        Returns:
            Tensor: Float32 logits of the same shape.
        """
        scale = self.noise_scale().to(cls_score.device)
        noise = (torch.randn_like(cls_score, dtype=torch.float32) *
                 self.sigma).clamp(-1.0, 1.0).abs()
        shape = [1, -1] + [1] * (cls_score.dim() - 2)
        return cls_score.float() + noise * scale.view(shape)

    def _loss_logits(self, cls_score: Tensor, label: Tensor, soft: bool,
                     ignore_index: int) -> Tensor:
        # perturbed in training only: evaluation sees the plain logits
        if self.training and self.sigma > 0:
            return self.perturb(cls_score)
        return cls_score.float()

    def extra_repr(self) -> str:
        return super().extra_repr() + f', sigma={self.sigma}'
