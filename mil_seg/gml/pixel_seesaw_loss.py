"""Seesaw loss adapted to pixels, a long-tailed re-balancing baseline."""
import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import UserError
from .logit_adjusted_ce_loss import LogitAdjustedCELoss


class PixelSeesawLoss(LogitAdjustedCELoss):
    """Seesaw loss (Wang et al., "Seesaw Loss for Long-Tailed Instance
    Segmentation", CVPR 2021), each pixel (or image) a sample (named apart
    from MMPretrain's own ``SeesawLoss`` for images).

    For a sample of class i, the logit of every other class j gets ``+ log
    S_ij``, ``S_ij = M_ij * C_ij``: the mitigation factor ``M_ij =
    min(1, N_j / N_i) ** p`` shrinks the penalty a frequent class i puts
    on a rarer j (``N`` the cumulative class counts), and the compensation
    factor ``C_ij = max(1, sigma_j / sigma_i) ** q`` restores it where j is
    already predicted above i (``sigma`` the detached soft-max). The
    cumulative counts are an online :class:`~mil_seg.gml.ClassPrior`
    (buffers summed over ranks, so every rank sees the same counts and a
    resumed run continues them); they start empty and count every training
    batch before its loss. Both factors off (``p = q = 0``) is
    cross-entropy. Registered in both toolboxes; averaging as
    :class:`LogitAdjustedCELoss`; hard labels only.

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

    adjusts_logits = False

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
        super().__init__(
            prior=dict(type='ClassPrior', num_classes=num_classes,
                       mode='online', smoothing=0.0),
            reduction=reduction,
            loss_weight=loss_weight,
            loss_name=loss_name,
            avg_non_ignore=avg_non_ignore)
        self.p = float(p)
        self.q = float(q)

    @property
    def requires_class_counts(self) -> bool:
        """bool: False: the loss counts its own training labels."""
        return False

    def _loss_logits(self, cls_score: Tensor, label: Tensor, soft: bool,
                     ignore_index: int) -> Tensor:
        if soft:
            raise UserError('PixelSeesawLoss needs hard labels (no '
                            'Mixup/CutMix soft targets)')
        logits = cls_score.float()
        if self.p == 0 and self.q == 0:
            return logits
        # classes on the last dim: N x C for images, B x H x W x C for pixels
        moved = logits.movedim(1, -1) if logits.dim() > 2 else logits
        valid = label != ignore_index
        target = torch.where(valid, label, torch.zeros_like(label))
        log_factor = torch.zeros_like(moved)
        if self.p > 0:
            counts = self.prior.counts.float().clamp_min(1.0)
            ratio = counts[None, :] / counts[:, None]  # [i, j] = N_j / N_i
            log_factor += self.p * ratio.clamp(max=1.0).log()[target]
        if self.q > 0:
            scores = F.softmax(moved.detach(), dim=-1)
            own = scores.gather(-1, target.unsqueeze(-1))
            ratio = scores / own.clamp_min(torch.finfo(scores.dtype).tiny)
            log_factor += self.q * ratio.clamp(min=1.0).log()
        others = 1.0 - F.one_hot(target, moved.shape[-1]).to(moved.dtype)
        moved = moved + log_factor * others * valid.unsqueeze(-1)
        return moved.movedim(-1, 1) if logits.dim() > 2 else moved

    def extra_repr(self) -> str:
        return super().extra_repr() + f', p={self.p}, q={self.q}'
