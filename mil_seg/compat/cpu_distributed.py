"""Shim ``cpu_distributed``: no CUDA device.

mmengine's torchrun start-up pins each process to a GPU; without one it
creates a gloo process group instead, and the launchers wrap the model in
``CPUDistributedDataParallel`` (DDP without device ids, see
:func:`register_cpu_ddp_wrapper`), so multi-process runs work on CPUs too.
``SyncBN`` is re-registered as ``CPUSyncBatchNorm``, which synchronises CPU
tensors over gloo (PyTorch's ``SyncBatchNorm`` refuses them) and is
PyTorch's class for GPU tensors.
"""
from typing import Optional

import torch

from .shim import Shim

_CPU_SYNC_BN: Optional[type] = None


def _user_error(message: str) -> Exception:
    # Imported when raised: the compatibility layer is applied before the
    # rest of the package is imported (and its tests load it on its own).
    from mil_seg.errors import UserError
    return UserError(message)


def cuda_unavailable() -> bool:
    """Whether this process sees no CUDA device."""
    return not torch.cuda.is_available()


def _init_dist_pytorch_without_cuda(backend: str = 'gloo',
                                    init_backend: str = 'torch',
                                    **kwargs) -> None:
    """mmengine's torchrun initialisation, minus ``torch.cuda.set_device``.

    mmengine pins each process to a GPU before creating the process group,
    which fails where there is none; without CUDA the group uses gloo.

    Raises:
        UserError: If ``init_backend`` (``env_cfg.dist_cfg`` of the config)
            is not 'torch'.
    """
    import torch.distributed as torch_dist
    if init_backend != 'torch':
        raise _user_error(
            f'init_backend={init_backend!r} needs GPUs; without CUDA only '
            "'torch' (gloo) process groups are supported")
    if backend == 'nccl':
        backend = 'gloo'
    torch_dist.init_process_group(backend=backend, **kwargs)


class _AllReduceSum(torch.autograd.Function):
    """Sum over a process group; the gradient is summed over it as well."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor, group) -> torch.Tensor:
        import torch.distributed as torch_dist
        ctx.group = group
        tensor = tensor.clone()
        torch_dist.all_reduce(tensor, group=group)
        return tensor

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return _AllReduceSum.apply(grad.contiguous(), ctx.group), None


def _sync_batch_norm_base() -> type:
    from mmengine.registry import MODELS
    base = MODELS.get('SyncBN')
    return getattr(base, '_cpu_sync_base', base)


def cpu_sync_batch_norm_class() -> type:
    """``SyncBN`` that also synchronises CPU tensors (gloo).

    PyTorch's ``SyncBatchNorm`` refuses CPU tensors in a multi-process run.
    This subclass computes the batch statistics of CPU inputs itself: the
    per-channel sum and count, then the sum of squared deviations from the
    global mean, each summed over the process group with the autograd-aware
    sum whose gradient is summed over the group as well (two collectives per
    layer and step), so outputs and gradients equal those of one process
    holding the concatenated batch. The statistics are computed in float32
    whatever the input dtype. GPU inputs, evaluation and one-process runs
    use PyTorch's implementation unchanged.

    Returns:
        type: The class (created once).
    """
    global _CPU_SYNC_BN
    if _CPU_SYNC_BN is not None:
        return _CPU_SYNC_BN
    import torch.distributed as torch_dist
    base = _sync_batch_norm_base()

    class CPUSyncBatchNorm(base):
        """``SyncBatchNorm`` with a gloo path for CPU tensors."""

        _cpu_sync_base = base

        def _cpu_group(self, input: torch.Tensor):
            if (input.device.type != 'cpu' or not self.training
                    or not torch_dist.is_available()
                    or not torch_dist.is_initialized()):
                return None
            group = self.process_group or torch_dist.group.WORLD
            return group if torch_dist.get_world_size(group) > 1 else None

        def forward(self, input: torch.Tensor) -> torch.Tensor:
            group = self._cpu_group(input)
            if group is None:
                return super().forward(input)
            self._check_input_dim(input)
            factor = 0.0 if self.momentum is None else self.momentum
            if self.track_running_stats:
                self.num_batches_tracked.add_(1)
                if self.momentum is None:
                    factor = 1.0 / float(self.num_batches_tracked)
            x = input.float()
            channels = x.shape[1]
            dims = [0] + list(range(2, x.dim()))
            shape = [1, channels] + [1] * (x.dim() - 2)
            local_count = x.numel() // max(channels, 1)
            totals = _AllReduceSum.apply(
                torch.cat([x.sum(dims), x.new_tensor([local_count])]), group)
            count = totals[channels].detach()
            if float(count) < 2:
                raise _user_error(
                    'SyncBN needs more than one value per channel over all '
                    'processes; use a larger batch or crop.')
            mean = totals[:channels] / count
            centred = x - mean.view(shape)
            var = _AllReduceSum.apply((centred * centred).sum(dims),
                                      group) / count
            if self.track_running_stats:
                with torch.no_grad():
                    unbiased = var.detach() * (count / (count - 1))
                    self.running_mean.mul_(1 - factor).add_(
                        factor * mean.detach().to(self.running_mean))
                    self.running_var.mul_(1 - factor).add_(
                        factor * unbiased.to(self.running_var))
            out = centred * torch.rsqrt(var + self.eps).view(shape)
            if self.affine:
                out = out * self.weight.float().view(shape) + \
                    self.bias.float().view(shape)
            return out.to(input.dtype)

    _CPU_SYNC_BN = CPUSyncBatchNorm
    return CPUSyncBatchNorm


def _enable_cpu_distributed() -> None:
    import mmengine.dist.utils as dist_utils
    import mmcv.cnn  # noqa: F401  (registers SyncBN first)
    from mmengine.registry import MODELS
    dist_utils._init_dist_pytorch = _init_dist_pytorch_without_cuda
    # configs name SyncBN (e.g. mmseg's R-50 models): make it work on CPUs
    MODELS.register_module(
        name='SyncBN', module=cpu_sync_batch_norm_class(), force=True)


def register_cpu_ddp_wrapper() -> type:
    """Register ``CPUDistributedDataParallel`` into mmengine's wrappers.

    mmengine wraps models with ``device_ids=[LOCAL_RANK]``, which PyTorch's
    DDP rejects for a model on the CPU; this wrapper drops the device ids
    there, accepts the CPU-capable ``SyncBN`` layers of the
    ``cpu_distributed`` shim (PyTorch's DDP refuses any ``SyncBatchNorm`` in
    a CPU model) and is otherwise mmengine's ``MMDistributedDataParallel``.

    Returns:
        type: The wrapper class (registered once).
    """
    from mmengine.model import MMDistributedDataParallel
    from mmengine.registry import MODEL_WRAPPERS

    existing = MODEL_WRAPPERS.get('CPUDistributedDataParallel')
    if existing is not None:
        return existing

    class CPUDistributedDataParallel(MMDistributedDataParallel):
        """``MMDistributedDataParallel`` for models that live on the CPU."""

        def __init__(self, module, **kwargs) -> None:
            if next(module.parameters()).device.type == 'cpu':
                kwargs['device_ids'] = None
                kwargs['output_device'] = None
            super().__init__(module=module, **kwargs)

        def _passing_sync_batchnorm_handle(self, module) -> None:
            # PyTorch refuses every SyncBatchNorm in a CPU model; the
            # CPU-capable one (see cpu_sync_batch_norm_class) is fine.
            cpu_sync_bn = _CPU_SYNC_BN or ()
            if any(
                    isinstance(layer, torch.nn.SyncBatchNorm)
                    and not isinstance(layer, cpu_sync_bn)
                    for layer in module.modules()):
                super()._passing_sync_batchnorm_handle(module)

    MODEL_WRAPPERS.register_module(module=CPUDistributedDataParallel)
    return CPUDistributedDataParallel


SHIM = Shim(
    name='cpu_distributed',
    description='no CUDA: torchrun process groups use gloo and skip '
    'torch.cuda.set_device; SyncBN synchronises CPU tensors over gloo',
    needed=cuda_unavailable,
    install=_enable_cpu_distributed)
