"""Balancing Logit Variation (BLV), a long-tailed segmentation baseline."""
from typing import Optional

import torch
from torch import Tensor

from ..errors import UserError
from ..gml.functional import float32_no_autocast
from ..gml.prior import ClassPrior, PriorConfig
from .prior_ce_loss import PriorCELoss, prior_ce_loss


def blv_noise_scale(prior: ClassPrior) -> Tensor:
    """``f_c / max(f)``, ``f_c = -log(pi_c)``: (C,) float32 in (0, 1], 1 for
    the rarest class.

    The authors' formula as fixed in grantword8/BLV commit e08cc6c ("Fix
    blv_loss.py bug", ``fully_sup/mmseg/models/losses/blv_loss.py``):
    ``f_c = log(sum_k n_k) - log(n_c)`` of the class pixel counts ``n``,
    which is ``-log(pi_c)``; read here from the smoothed prior, so it is
    their formula on the smoothed counts. Their first commit (494d428)
    measured the gap to the most frequent class, ``log(n_max) - log(n_c)``,
    which left that class without noise; results made before this package
    switched record the commit that made them. An empty prior is uniform:
    every class gets the full scale (training refuses an empty prior).

    Args:
        prior (ClassPrior): The class prior.

    Returns:
        Tensor: The per-class scale of the noise.
    """
    surprisal = -prior.probs_float64.log()
    return (surprisal / surprisal.max().clamp_min(1e-12)).float()


def blv_perturb(cls_score: Tensor, prior: ClassPrior, sigma: float) -> Tensor:
    """The training logits: ``cls_score[n, c] + |clamp(e, -1, 1)| *
    f_c / max(f)`` (:func:`blv_noise_scale`) with ``e ~ N(0, sigma^2)``
    drawn per element.

    Args:
        cls_score (Tensor): Logits, N x C or B x C x H x W.
        prior (ClassPrior): The class prior.
        sigma (float): Standard deviation of the noise before its clamp.

    Returns:
        Tensor: Float32 logits of the same shape.
    """
    scale = blv_noise_scale(prior).to(cls_score.device)
    noise = (torch.randn_like(cls_score, dtype=torch.float32) * sigma).clamp(
        -1.0, 1.0).abs()
    shape = [1, -1] + [1] * (cls_score.dim() - 2)
    return cls_score.float() + noise * scale.view(shape)


def blv_loss(cls_score: Tensor,
             label: Tensor,
             prior: ClassPrior,
             sigma: float = 4.0,
             weight: Optional[Tensor] = None,
             reduction: str = 'mean',
             avg_factor: Optional[float] = None,
             ignore_index: int = -100,
             avg_non_ignore: bool = True) -> Tensor:
    """Cross-entropy of the logits perturbed by :func:`blv_perturb`;
    ``sigma=0`` draws no noise and is cross-entropy. Averaging as
    :func:`~mil_seg.losses.prior_ce_loss.prior_ce_loss`.

    Args:
        cls_score (Tensor): Logits, N x C or B x C x H x W.
        label (Tensor): Class indices or soft targets shaped like
            ``cls_score``.
        prior (ClassPrior): The class prior.
        sigma (float): Standard deviation of the noise. Defaults to 4.0.
        weight (Tensor, optional): Per-element weights. Defaults to None.
        reduction (str): 'none', 'mean' or 'sum'. Defaults to 'mean'.
        avg_factor (float, optional): Divisor of the summed loss. Defaults
            to None.
        ignore_index (int): Ignored label. Defaults to -100.
        avg_non_ignore (bool): Average over non-ignored elements only.
            Defaults to True.

    Returns:
        Tensor: The loss.
    """
    with float32_no_autocast(cls_score):
        logits = (blv_perturb(cls_score, prior, sigma)
                  if sigma > 0 else cls_score.float())
        return prior_ce_loss(logits,
                             label,
                             weight=weight,
                             reduction=reduction,
                             avg_factor=avg_factor,
                             ignore_index=ignore_index,
                             avg_non_ignore=avg_non_ignore)


class BLVLoss(PriorCELoss):
    """Cross-entropy on logits perturbed in training by class-scaled noise,
    see :func:`blv_loss`.

    Balancing Logit Variation (Wang et al., "Balancing Logit Variation for
    Long-tailed Semantic Segmentation", CVPR 2023; its public code,
    ``BlvLoss`` of grantword8/BLV at commit e08cc6c): each training logit
    ``z[n, c]`` becomes ``z[n, c] + |clamp(e, -1, 1)| * f_c / max(f)``,
    with ``e ~ N(0, sigma^2)`` drawn per element and ``f_c = -log(pi_c)``
    (:func:`blv_noise_scale`), so the rarest class is perturbed the most
    and the most frequent the least. The class statistics come from
    :class:`~mil_seg.gml.ClassPrior` (the authors pass pixel counts; their
    log ratios are the same up to the prior's smoothing).
    Evaluation and prediction use the plain logits (the loss only is
    changed). ``sigma=0`` is cross-entropy. Registered in both toolboxes.

    Args:
        prior (str | dict | ClassPrior, optional): The class prior. Defaults
            to None: an empty prior of ``num_classes`` that
            ``ClassCountsHook`` fills (training refuses to run before).
        num_classes (int, optional): Number of classes C. Defaults to None.
        sigma (float): Standard deviation of the noise before its clamp to
            [-1, 1]; the authors use 4. Defaults to 4.0.
        reduction (str): 'none', 'mean' or 'sum'. Defaults to 'mean'.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        loss_name (str): Name of the loss item. Defaults to 'loss_blv'.
        avg_non_ignore (bool): Average over non-ignored elements only.
            Defaults to True.
    """

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
        super().__init__(prior=prior,
                         num_classes=num_classes,
                         reduction=reduction,
                         loss_weight=loss_weight,
                         loss_name=loss_name,
                         avg_non_ignore=avg_non_ignore,
                         requires_prior=True)
        self.sigma = float(sigma)

    def noise_scale(self) -> Tensor:
        """:func:`blv_noise_scale` of this loss's prior."""
        return blv_noise_scale(self.prior)

    def perturb(self, cls_score: Tensor) -> Tensor:
        """:func:`blv_perturb` with this loss's prior and sigma."""
        return blv_perturb(cls_score, self.prior, self.sigma)

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                ignore_index: int = -100,
                **kwargs) -> Tensor:
        """Compute the loss (perturbed in training only: evaluation sees the
        plain logits); arguments as :meth:`LogitAdjustedCELoss.forward`."""
        label = self._labels(cls_score, label, ignore_index)
        return self.loss_weight * blv_loss(
            cls_score,
            label,
            self.prior,
            sigma=self.sigma if self.training else 0.0,
            weight=weight,
            reduction=self._reduction(reduction_override),
            avg_factor=avg_factor,
            ignore_index=ignore_index,
            avg_non_ignore=self.avg_non_ignore)

    def extra_repr(self) -> str:
        return super().extra_repr() + f', sigma={self.sigma}'
