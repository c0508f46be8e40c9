"""Shim ``focal_loss_cpu``: MMSegmentation's ``FocalLoss`` fails on the CPU.

``FocalLoss.forward`` has two branches. Tensors on a GPU go through
``sigmoid_focal_loss`` (mmcv's kernel, or the pure-PyTorch one of
:mod:`.mmcv_ops`): class-index targets, a valid mask for ignored pixels and
class weights applied per class. Every other tensor goes through the
pure-Python branch, which one-hot encodes the target and then keeps its
column ``num_classes`` instead of its first ``num_classes`` columns
(``target[:, num_classes]``, mmseg issue 3249), so the loss fails with a
size mismatch (or, with as many pixels as classes, broadcasts silently);
with one class it keeps ``target[:, 1]``, one dimension short, and fails
too. Both MMSegmentation 1.2.2 and onedl-mmsegmentation 1.4.2 have these
lines.

Where the CPU branch is wrong (:func:`focal_loss_cpu_path_broken` runs it on
a small CPU input and compares it with the sigmoid focal loss),
``FocalLoss.forward`` becomes :func:`sigmoid_path_forward`: the GPU branch
on every device. The module's kernel becomes :func:`kernel_on_any_device`,
which keeps mmcv's kernel on accelerators and uses the pure-PyTorch one on
the CPU (mmcv's compiled focal loss has no CPU kernel).
"""
from typing import Callable, Optional

import torch
import torch.nn.functional as F

from .mmcv_ops import sigmoid_focal_loss as pure_sigmoid_focal_loss
from .shim import Shim

# FocalLoss.forward as MMSegmentation defines it, kept on the replacement.
_ORIGINAL = '__mil_seg_original__'


def _focal_loss_module():
    """``mmseg.models.losses.focal_loss``, or None where it cannot load."""
    try:
        from mmseg.models.losses import focal_loss
    except Exception:  # noqa: BLE001
        # No mmseg, or one that fails to import (e.g. an mmcv whose
        # compiled ops miss functions raises AssertionError): nothing to
        # route here; importing mmseg itself reports why.
        return None
    return focal_loss


def _flatten(tensor: torch.Tensor) -> torch.Tensor:
    """[B, C, d_1, ..., d_k] -> [N, C], N = B * d_1 * ... * d_k."""
    channels = tensor.size(1)
    return tensor.transpose(0, 1).reshape(channels, -1).transpose(
        0, 1).contiguous()


def sigmoid_path_forward(self,
                         pred: torch.Tensor,
                         target: torch.Tensor,
                         weight: Optional[torch.Tensor] = None,
                         avg_factor: Optional[float] = None,
                         reduction_override: Optional[str] = None,
                         ignore_index: int = 255,
                         **kwargs) -> torch.Tensor:
    """``FocalLoss.forward`` through its GPU branch, on every device.

    The arguments, targets (class indices, or class probabilities shaped
    like ``pred``), valid mask, class weights and reductions are those of
    MMSegmentation's ``FocalLoss.forward`` when ``pred`` is on a GPU; only
    the device test is gone.

    Args:
        pred (torch.Tensor): Logits (N, C) or (B, C, d_1, ..., d_k).
        target (torch.Tensor): Class indices (N,) or (B, d_1, ..., d_k), or
            class probabilities shaped like ``pred``.
        weight (torch.Tensor, optional): Per-element weights. Defaults to
            None.
        avg_factor (float, optional): Divisor of the summed loss. Defaults
            to None (the mean over all N x C elements).
        reduction_override (str, optional): 'none', 'mean' or 'sum'.
            Defaults to None (the loss's ``reduction``).
        ignore_index (int): Label of ignored pixels. Defaults to 255.

    Returns:
        torch.Tensor: The loss, shaped like ``pred`` for 'none'.
    """
    focal_loss = _focal_loss_module()
    assert isinstance(ignore_index, int), 'ignore_index must be of type int'
    assert reduction_override in (None, 'none', 'mean', 'sum')
    assert pred.shape == target.shape or (
        pred.size(0) == target.size(0)
        and pred.shape[2:] == target.shape[1:]), (
            "The shape of pred doesn't match the shape of target")
    if not self.use_sigmoid:
        raise NotImplementedError  # as MMSegmentation's (softmax focal)
    original_shape = pred.shape
    num_classes = pred.size(1)
    pred = _flatten(pred)
    if target.shape == original_shape:
        one_hot_target = _flatten(target)
        target = one_hot_target.argmax(dim=1)
        valid_mask = (target != ignore_index).view(-1, 1)
    else:
        target = target.reshape(-1)
        valid_mask = (target != ignore_index).view(-1, 1)
        target = torch.where(valid_mask.view(-1), target,
                             target.new_tensor(0))
        one_hot_target = F.one_hot(target, num_classes=num_classes + 1)
        if num_classes == 1:
            one_hot_target = one_hot_target[:, 1]
            target = 1 - target
        else:
            one_hot_target = one_hot_target[:, :num_classes]
    reduction = reduction_override or self.reduction
    loss = self.loss_weight * focal_loss.sigmoid_focal_loss(
        pred,
        target,
        one_hot_target,
        weight,
        gamma=self.gamma,
        alpha=self.alpha,
        class_weight=self.class_weight,
        valid_mask=valid_mask,
        reduction=reduction,
        avg_factor=avg_factor)
    if reduction == 'none':
        # [N, C] -> [B, C, d_1, ..., d_k]
        loss = loss.transpose(0, 1).reshape(
            original_shape[1], original_shape[0],
            *original_shape[2:]).transpose(0, 1).contiguous()
    return loss


def kernel_on_any_device(kernel: Optional[Callable]) -> Callable:
    """``mmcv.ops.sigmoid_focal_loss`` that also runs on the CPU.

    Args:
        kernel (Callable, optional): The op MMSegmentation imported (mmcv's
            kernel or :func:`.mmcv_ops.sigmoid_focal_loss`); None where
            mmcv has no ops.

    Returns:
        Callable: ``kernel`` for tensors on an accelerator, the pure-PyTorch
        op for CPU tensors (and everywhere without ``kernel``).
    """

    def sigmoid_focal_loss(input, target, gamma=2.0, alpha=0.25,
                           weight=None, reduction='mean'):
        if kernel is None or input.device.type == 'cpu':
            return pure_sigmoid_focal_loss(input, target, gamma, alpha,
                                           weight, reduction)
        return kernel(input, target, gamma, alpha, weight, reduction)

    sigmoid_focal_loss.__mil_seg_kernel__ = kernel
    return sigmoid_focal_loss


def focal_loss_cpu_path_broken(forward: Optional[Callable] = None) -> bool:
    """Whether ``FocalLoss.forward`` gets CPU tensors wrong.

    Runs ``forward`` on CPU logits of 3 pixels (one ignored), with 3
    classes and with 1 class (foreground against background, which the
    branch indexes apart), and compares each with the sigmoid focal loss of
    the valid pixels averaged over all elements, as MMSegmentation's GPU
    branch computes it.

    Args:
        forward (Callable, optional): The forward to check. Defaults to
            MMSegmentation's own (also once this shim has replaced it).

    Returns:
        bool: True where it raises or differs in either case; False where
        MMSegmentation cannot be imported.
    """
    focal_loss = _focal_loss_module()
    if focal_loss is None:
        return False
    cls = focal_loss.FocalLoss
    if forward is None:
        forward = getattr(cls.forward, _ORIGINAL, cls.forward)
    logits = torch.tensor([[0.5, -1.0, 0.7], [-0.3, 2.0, -1.2],
                           [1.5, 0.2, 0.1]], dtype=torch.float64)
    cases = (
        # B=1, C=3, H=1, W=3; the kernel's targets are the class indices
        (logits, [2, 255, 0], [2, 0]),
        # C=1: label 1 is the foreground, the kernel's class 0
        (logits[:1], [1, 255, 0], [0, 1]),
    )
    try:
        for pred, labels, kernel_targets in cases:
            valid = torch.tensor([0, 2])
            expected = pure_sigmoid_focal_loss(
                pred.t()[valid], torch.tensor(kernel_targets), 2.0, 0.25,
                None, 'none').sum() / pred.numel()
            loss = forward(
                cls(gamma=2.0, alpha=0.25), pred.view(1, -1, 1, 3),
                torch.tensor(labels).view(1, 1, 3))
            if not (loss.shape == () and torch.allclose(loss, expected)):
                return True
    except Exception:  # the known failures: RuntimeError, ValueError
        return True
    return False


def _route_through_sigmoid_path() -> None:
    focal_loss = _focal_loss_module()
    cls = focal_loss.FocalLoss
    setattr(sigmoid_path_forward, _ORIGINAL, cls.forward)
    cls.forward = sigmoid_path_forward
    focal_loss._sigmoid_focal_loss = kernel_on_any_device(
        focal_loss._sigmoid_focal_loss)


SHIM = Shim(
    name='focal_loss_cpu',
    description="mmseg's FocalLoss mis-indexes its target on the CPU "
    '(mmseg issue 3249): it takes its sigmoid_focal_loss path on every '
    'device (pure PyTorch for CPU tensors)',
    needed=focal_loss_cpu_path_broken,
    install=_route_through_sigmoid_path)
