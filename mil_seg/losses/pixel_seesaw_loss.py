"""Seesaw loss adapted to pixels, a long-tailed re-balancing baseline."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import UserError
from ..gml.functional import float32_no_autocast
from .prior_ce_loss import PriorCELoss, is_soft, prior_ce_loss


def seesaw_logits(cls_score: Tensor,
                  label: Tensor,
                  counts: Tensor,
                  p: float = 0.8,
                  q: float = 2.0,
                  ignore_index: int = -100) -> Tensor:
    """The logits whose cross-entropy is the Seesaw loss: for a sample of
    class i, every other class j gets ``+ p * log min(1, N_j / N_i) + q *
    log max(1, sigma_j / sigma_i)`` (``N`` the cumulative class counts,
    ``sigma`` the detached soft-max); ignored samples are left as they are.

    Args:
        cls_score (Tensor): Logits, N x C or B x C x H x W.
        label (Tensor): Class indices (long), N or B x H x W.
        counts (Tensor): (C,) cumulative class counts.
        p (float): Mitigation exponent. Defaults to 0.8.
        q (float): Compensation exponent. Defaults to 2.0.
        ignore_index (int): Ignored label. Defaults to -100.

    Returns:
        Tensor: Float32 logits shaped like ``cls_score``.
    """
    logits = cls_score.float()
    if p == 0 and q == 0:
        return logits
    # classes on the last dim: N x C for images, B x H x W x C for pixels
    moved = logits.movedim(1, -1) if logits.dim() > 2 else logits
    valid = label != ignore_index
    target = torch.where(valid, label, torch.zeros_like(label))
    log_factor = torch.zeros_like(moved)
    if p > 0:
        counts = counts.float().clamp_min(1.0)
        ratio = counts[None, :] / counts[:, None]  # [i, j] = N_j / N_i
        log_factor += p * ratio.clamp(max=1.0).log()[target]
    if q > 0:
        scores = F.softmax(moved.detach(), dim=-1)
        own = scores.gather(-1, target.unsqueeze(-1))
        ratio = scores / own.clamp_min(torch.finfo(scores.dtype).tiny)
        log_factor += q * ratio.clamp(min=1.0).log()
    others = 1.0 - F.one_hot(target, moved.shape[-1]).to(moved.dtype)
    moved = moved + log_factor * others * valid.unsqueeze(-1)
    return moved.movedim(-1, 1) if logits.dim() > 2 else moved


def pixel_seesaw_loss(cls_score: Tensor,
                      label: Tensor,
                      counts: Tensor,
                      p: float = 0.8,
                      q: float = 2.0,
                      weight: Optional[Tensor] = None,
                      reduction: str = 'mean',
                      avg_factor: Optional[float] = None,
                      ignore_index: int = -100,
                      avg_non_ignore: bool = True) -> Tensor:
    """Cross-entropy of :func:`seesaw_logits`; ``p = q = 0`` is
    cross-entropy. Hard labels only. Averaging as
    :func:`~mil_seg.losses.prior_ce_loss.prior_ce_loss`.

    Args:
        cls_score (Tensor): Logits, N x C or B x C x H x W.
        label (Tensor): Class indices (long), N or B x H x W.
        counts (Tensor): (C,) cumulative class counts.
        p (float): Mitigation exponent. Defaults to 0.8.
        q (float): Compensation exponent. Defaults to 2.0.
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
    if is_soft(cls_score, label):
        raise UserError('PixelSeesawLoss needs hard labels (no '
                        'Mixup/CutMix soft targets)')
    with float32_no_autocast(cls_score):
        logits = seesaw_logits(cls_score, label, counts, p, q, ignore_index)
        return prior_ce_loss(logits,
                             label,
                             weight=weight,
                             reduction=reduction,
                             avg_factor=avg_factor,
                             ignore_index=ignore_index,
                             avg_non_ignore=avg_non_ignore)


class PixelSeesawLoss(PriorCELoss):
    """Seesaw loss (Wang et al., "Seesaw Loss for Long-Tailed Instance
    Segmentation", CVPR 2021), each pixel (or image) a sample (named apart
    from MMPretrain's own ``SeesawLoss`` for images); see
    :func:`pixel_seesaw_loss`.

    For a sample of class i, the logit of every other class j gets ``+ log
    S_ij``, ``S_ij = M_ij * C_ij``: the mitigation factor ``M_ij =
    min(1, N_j / N_i) ** p`` shrinks the penalty a frequent class i puts
    on a rarer j (``N`` the cumulative class counts), and the compensation
    factor ``C_ij = max(1, sigma_j / sigma_i) ** q`` restores it where j is
    already predicted above i (``sigma`` the detached soft-max). The
    cumulative counts are an online :class:`~mil_seg.gml.ClassPrior`
    (buffers summed over ranks, so every rank sees the same counts and a
    resumed run continues them); they start empty and count every training
    batch before its loss (never the training set's counts). Both factors
    off (``p = q = 0``) is cross-entropy. Registered in both toolboxes;
    hard labels only.

    Args:
        num_classes (int): Number of classes C.
        p (float): Mitigation exponent; the authors use 0.8. Defaults to
            0.8.
        q (float): Compensation exponent; the authors use 2.0. Defaults to
            2.0.
        reduction (str): 'none', 'mean' or 'sum'. Defaults to 'mean'.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        loss_name (str): Name of the loss item. Defaults to 'loss_seesaw'.
        avg_non_ignore (bool): Average over non-ignored elements only.
            Defaults to True.
    """

    def __init__(self,
                 num_classes: int,
                 p: float = 0.8,
                 q: float = 2.0,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_seesaw',
                 avg_non_ignore: bool = True) -> None:
        if p < 0 or q < 0:
            raise UserError(f'p and q must be >= 0, got p={p}, q={q}')
        super().__init__(prior=dict(type='ClassPrior',
                                    num_classes=num_classes,
                                    mode='online',
                                    smoothing=0.0),
                         reduction=reduction,
                         loss_weight=loss_weight,
                         loss_name=loss_name,
                         avg_non_ignore=avg_non_ignore,
                         counts_from_training_set=False)
        self.p = float(p)
        self.q = float(q)

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                ignore_index: int = -100,
                **kwargs) -> Tensor:
        """Compute the loss (training batches count into the cumulative
        counts first); arguments as :meth:`LogitAdjustedCELoss.forward`."""
        label = self._labels(cls_score, label, ignore_index)
        return self.loss_weight * pixel_seesaw_loss(
            cls_score,
            label,
            self.prior.counts,
            p=self.p,
            q=self.q,
            weight=weight,
            reduction=self._reduction(reduction_override),
            avg_factor=avg_factor,
            ignore_index=ignore_index,
            avg_non_ignore=self.avg_non_ignore)

    def extra_repr(self) -> str:
        return super().extra_repr() + f', p={self.p}, q={self.q}'
