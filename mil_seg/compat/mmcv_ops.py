"""Shim ``mmcv_ops``: mmcv-lite (or any mmcv without compiled ops).

MMSegmentation imports ``point_sample`` and ``sigmoid_focal_loss`` from
``mmcv.ops`` at import time, so ``mmcv.ops`` is replaced by a small module
with pure-PyTorch versions of those two. Every other op resolves to a
placeholder that raises :class:`MissingCompiledOpError` (telling the user to
install full mmcv) when it is called or instantiated, so importing a head
that needs a compiled kernel still works, but using it fails clearly.
"""
import importlib.util
import sys
import types
import warnings
from typing import Optional

import torch
import torch.nn.functional as F

from .shim import Shim

_MMCV_FULL_HINT = ('install full mmcv 2.1.x with compiled ops instead of '
                   'mmcv-lite, e.g. `pip uninstall -y mmcv-lite && mim '
                   'install "mmcv==2.1.0"` (see README, install matrix)')


class MissingCompiledOpError(RuntimeError):
    """Raised when an mmcv op that needs compiled kernels is used."""


def mmcv_has_compiled_ops() -> bool:
    """Whether the installed mmcv ships its compiled extension."""
    try:
        return importlib.util.find_spec('mmcv._ext') is not None
    except (ImportError, ValueError):
        return False


def point_sample(input: torch.Tensor,
                 points: torch.Tensor,
                 align_corners: bool = False,
                 **kwargs) -> torch.Tensor:
    """Sample ``input`` at normalised points, as ``mmcv.ops.point_sample``.

    Args:
        input (torch.Tensor): Feature map (N, C, H, W).
        points (torch.Tensor): Points in ``[0, 1] x [0, 1]``, shape (N, P, 2)
            or (N, Hgrid, Wgrid, 2).
        align_corners (bool): Passed to ``grid_sample``. Defaults to False.
        **kwargs: Passed to :func:`torch.nn.functional.grid_sample`.

    Returns:
        torch.Tensor: (N, C, P) or (N, C, Hgrid, Wgrid).
    """
    single_row = points.dim() == 3
    if single_row:
        points = points.unsqueeze(2)
    output = F.grid_sample(
        input, 2.0 * points - 1.0, align_corners=align_corners, **kwargs)
    return output.squeeze(3) if single_row else output


def sigmoid_focal_loss(input: torch.Tensor,
                       target: torch.Tensor,
                       gamma: float = 2.0,
                       alpha: float = 0.25,
                       weight: Optional[torch.Tensor] = None,
                       reduction: str = 'mean') -> torch.Tensor:
    """Sigmoid focal loss with the semantics of ``mmcv.ops``' kernel.

    Args:
        input (torch.Tensor): Logits (N, C).
        target (torch.Tensor): Class indices (N,); ``C`` means background.
        gamma (float): Focusing parameter. Defaults to 2.0.
        alpha (float): Weight of positives. Defaults to 0.25.
        weight (torch.Tensor, optional): Per-class weight (C,), applied by
            each sample's target class. Defaults to None.
        reduction (str): 'none', 'mean' (sum / N, as mmcv) or 'sum'.
            Defaults to 'mean'.

    Returns:
        torch.Tensor: The loss.
    """
    num_classes = input.size(1)
    positive = F.one_hot(target.long(), num_classes + 1)[:, :num_classes]
    positive = positive.to(input.dtype)
    prob = input.sigmoid()
    tiny = torch.finfo(input.dtype).tiny
    log_p = prob.clamp(min=tiny).log()
    log_not_p = (1 - prob).clamp(min=tiny).log()
    loss = -(positive * alpha * (1 - prob).pow(gamma) * log_p +
             (1 - positive) * (1 - alpha) * prob.pow(gamma) * log_not_p)
    if weight is not None:
        # mmcv indexes the weight by the target class; background keeps 1.
        padded = torch.cat([weight, weight.new_ones(1)])
        loss = loss * padded[target.long()].unsqueeze(1)
    if reduction == 'mean':
        return loss.sum() / input.size(0)
    if reduction == 'sum':
        return loss.sum()
    return loss


def _missing_op(name: str) -> type:

    def refuse(*args, **kwargs):
        raise MissingCompiledOpError(
            f'mmcv.ops.{name} needs mmcv\'s compiled ops, which this mmcv '
            f'does not have: {_MMCV_FULL_HINT}.')

    # A class, so that isinstance checks against it keep working.
    return type(name, (), {'__new__': refuse, '__module__': 'mmcv.ops'})


def _build_pure_torch_ops() -> types.ModuleType:
    module = types.ModuleType(
        'mmcv.ops', 'Pure-PyTorch stand-in for mmcv.ops installed by '
        'mil_seg.compat because mmcv has no compiled ops here.')
    module.point_sample = point_sample
    module.sigmoid_focal_loss = sigmoid_focal_loss
    module.MissingCompiledOpError = MissingCompiledOpError
    module.__mil_seg_shim__ = True

    def __getattr__(name: str):
        if name.startswith('__'):
            raise AttributeError(name)
        op = _missing_op(name)
        setattr(module, name, op)
        return op

    module.__getattr__ = __getattr__
    return module


def _install_pure_torch_ops() -> None:
    import mmcv
    module = _build_pure_torch_ops()
    sys.modules['mmcv.ops'] = module
    mmcv.ops = module
    # mmcv's transformer bricks warn that deformable attention is missing;
    # the shim's announcement already says so once.
    warnings.filterwarnings(
        'ignore', message='Fail to import ``MultiScaleDeformableAttention``')


SHIM = Shim(
    name='mmcv_ops',
    description='mmcv has no compiled ops: using pure-PyTorch point_sample '
    'and sigmoid_focal_loss; other mmcv.ops raise a clear error',
    needed=lambda: not mmcv_has_compiled_ops(),
    install=_install_pure_torch_ops)
