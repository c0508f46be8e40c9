"""Compatibility layer between the pinned OpenMMLab stack and recent PyTorch.

This is the only module of the package that patches anything. Each shim is
applied only where the environment needs it and is announced once:

* ``mmcv_ops``: mmcv-lite (or any mmcv without compiled ops) is installed.
  MMSegmentation imports ``point_sample`` and ``sigmoid_focal_loss`` from
  ``mmcv.ops`` at import time, so ``mmcv.ops`` is replaced by a small module
  with pure-PyTorch versions of those two. Every other op resolves to a
  placeholder that raises :class:`MissingCompiledOpError` (telling the user
  to install full mmcv) when it is called or instantiated, so importing a
  head that needs a compiled kernel still works, but using it fails clearly.
* ``torch_load_allowlist``: torch >= 2.6 loads checkpoints with
  ``weights_only=True``. Checkpoints written by mmengine hold a few
  non-tensor objects (``HistoryBuffer`` from the message hub, numpy arrays
  and scalars, ``ConfigDict`` meta). Exactly those types are added to
  ``torch.serialization``'s safe globals, and ``HistoryBuffer`` stops
  pickling references to its built-in methods (code), so ``--resume``, ``load_from`` and
  ``tools/test.py`` work without ``weights_only=False``; a pickle that needs
  any other global is still refused by torch. Nothing else is trusted.
* ``package_lookup``: setuptools >= 81 has no ``pkg_resources``, which
  mmengine uses to find installed packages for ``mmseg::`` and
  ``mmpretrain::`` base configs. There, mmengine's two lookup functions are
  replaced by ``importlib.metadata`` equivalents. With ``pkg_resources``
  present (the pinned ``setuptools<81``) only its deprecation warning is
  silenced.

* ``cpu_distributed``: no CUDA device. mmengine's torchrun start-up pins
  each process to a GPU; without one it creates a gloo process group
  instead, and launchers wrap the model in ``CPUDistributedDataParallel``
  (DDP without device ids), so multi-process runs work on CPUs too.
  ``SyncBN`` is re-registered as ``CPUSyncBatchNorm``, which synchronises
  CPU tensors over gloo (PyTorch's ``SyncBatchNorm`` refuses them) and is
  PyTorch's class for GPU tensors.

With full mmcv, torch < 2.6, ``pkg_resources`` present and a GPU, nothing is
applied; :func:`active_shims` returns an empty list.
"""
import importlib
import importlib.metadata
import importlib.util
import os.path as osp
import sys
import types
import warnings
from typing import Callable, List, Optional

import torch
import torch.nn.functional as F

_MMCV_FULL_HINT = ('install full mmcv 2.1.x with compiled ops instead of '
                   'mmcv-lite, e.g. `pip uninstall -y mmcv-lite && mim '
                   'install "mmcv==2.1.0"` (see README, install matrix)')

_active: List[str] = []
_applied = False


class MissingCompiledOpError(RuntimeError):
    """Raised when an mmcv op that needs compiled kernels is used."""


def active_shims() -> List[str]:
    """Names of the shims applied in this process, in order."""
    return list(_active)


# ---------------------------------------------------------------- mmcv.ops
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


# ------------------------------------------------------------- torch.load
def torch_loads_weights_only_by_default() -> bool:
    """Whether ``torch.load`` defaults to ``weights_only=True`` (>= 2.6)."""
    from mmengine.utils import digit_version
    return digit_version(torch.__version__) >= digit_version('2.6.0')


def mmengine_checkpoint_globals() -> list:
    """The non-tensor types that mmengine checkpoints legitimately hold."""
    import numpy as np
    from mmengine.config import ConfigDict
    from mmengine.logging import HistoryBuffer

    allowed = [HistoryBuffer, ConfigDict, np.ndarray, np.dtype]
    # numpy pickles arrays and scalars through these reconstructors; their
    # module moved in numpy 2 (numpy.core -> numpy._core).
    for module_name in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        try:
            multiarray = importlib.import_module(module_name)
        except ImportError:
            continue
        allowed += [multiarray._reconstruct, multiarray.scalar]
        break
    # numpy scalars pickle with their concrete dtype classes
    # (e.g. numpy.dtypes.Float64DType) as well as the scalar types.
    allowed += [type(np.dtype(name)) for name in np.sctypeDict.values()
                if isinstance(name, type)]
    allowed += [t for t in set(np.sctypeDict.values()) if isinstance(t, type)]
    return allowed


_BUILTIN_STATISTICS = ('min', 'max', 'current', 'mean')


def _history_buffer_getstate(self) -> dict:
    """Pickle a ``HistoryBuffer`` without references to its own methods.

    mmengine pickles the class's statistics methods into every buffer, which
    a ``weights_only`` load refuses (functions are code). The four built-in
    methods exist in every process, so only custom ones are kept; those are
    code and stay refused by a ``weights_only`` load, as they should.
    """
    state = dict(self.__dict__)
    state['statistics_methods'] = {
        name: method
        for name, method in self._statistics_methods.items()
        if name not in _BUILTIN_STATISTICS
    }
    return state


def _allow_mmengine_checkpoints() -> None:
    from mmengine.logging import HistoryBuffer
    for name in _BUILTIN_STATISTICS:
        HistoryBuffer._statistics_methods.setdefault(
            name, getattr(HistoryBuffer, name))
    HistoryBuffer.__getstate__ = _history_buffer_getstate
    torch.serialization.add_safe_globals(mmengine_checkpoint_globals())


# --------------------------------------------------------- package lookup
def pkg_resources_available() -> bool:
    """Whether setuptools still provides ``pkg_resources``."""
    return importlib.util.find_spec('pkg_resources') is not None


def _distribution_of(package: str):
    try:
        return importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def is_installed(package: str) -> bool:
    """``mmengine.utils.is_installed`` without ``pkg_resources``."""
    if _distribution_of(package) is not None:
        return True
    return importlib.util.find_spec(package) is not None


def get_installed_path(package: str) -> str:
    """``mmengine.utils.get_installed_path`` without ``pkg_resources``."""
    module_name = package
    dist = _distribution_of(package)
    if dist is not None:
        top_level = dist.read_text('top_level.txt')
        if top_level and top_level.split():
            module_name = top_level.split()[0]
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(
            f'{package} is not installed; install it to use `{package}::` '
            'configs')
    return osp.dirname(spec.origin)


def _replace_package_lookup() -> None:
    import mmengine.config.config as config_module
    import mmengine.utils as utils_module
    import mmengine.utils.package_utils as package_utils
    for module in (package_utils, utils_module, config_module):
        if hasattr(module, 'is_installed'):
            module.is_installed = is_installed
        if hasattr(module, 'get_installed_path'):
            module.get_installed_path = get_installed_path


# ------------------------------------------------------- CPU distributed
def cuda_unavailable() -> bool:
    """Whether this process sees no CUDA device."""
    return not torch.cuda.is_available()


def _init_dist_pytorch_without_cuda(backend: str = 'gloo',
                                    init_backend: str = 'torch',
                                    **kwargs) -> None:
    """mmengine's torchrun initialisation, minus ``torch.cuda.set_device``.

    mmengine pins each process to a GPU before creating the process group,
    which fails where there is none; without CUDA the group uses gloo.
    """
    import torch.distributed as torch_dist
    if init_backend != 'torch':
        raise RuntimeError(
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
                raise ValueError(
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


_CPU_SYNC_BN: Optional[type] = None


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


# ------------------------------------------------------------------ apply
_SHIMS = (
    # (name, needed?, apply)
    ('mmcv_ops', lambda: not mmcv_has_compiled_ops(), _install_pure_torch_ops),
    ('torch_load_allowlist', torch_loads_weights_only_by_default,
     _allow_mmengine_checkpoints),
    ('package_lookup', lambda: not pkg_resources_available(),
     _replace_package_lookup),
    ('cpu_distributed', cuda_unavailable, _enable_cpu_distributed),
)

_DESCRIPTIONS = {
    'mmcv_ops': 'mmcv has no compiled ops: using pure-PyTorch point_sample '
    'and sigmoid_focal_loss; other mmcv.ops raise a clear error',
    'torch_load_allowlist': 'torch >= 2.6 loads weights_only: mmengine '
    'checkpoint types (HistoryBuffer, ConfigDict, numpy) allow-listed',
    'package_lookup': 'no pkg_resources: mmengine package lookup uses '
    'importlib.metadata',
    'cpu_distributed': 'no CUDA: torchrun process groups use gloo and skip '
    'torch.cuda.set_device; SyncBN synchronises CPU tensors over gloo',
}


def apply(shims: Optional[List[tuple]] = None,
          announce: Optional[Callable[[str], None]] = None) -> List[str]:
    """Apply the shims this environment needs (idempotent).

    Args:
        shims (list[tuple], optional): ``(name, needed, apply)`` triples;
            tests pass their own. Defaults to the package's shims.
        announce (callable, optional): Receives one message per applied
            shim. Defaults to mmengine's ``print_log``.

    Returns:
        list[str]: Names of the shims applied by this call.
    """
    global _applied
    if shims is None:
        if _applied:
            return []
        _applied = True
        shims = _SHIMS
    if announce is None:
        from mmengine.logging import print_log

        def announce(message: str) -> None:
            print_log(message, logger='current')

    # pkg_resources warns on each of mmengine's (re)imports of it.
    warnings.filterwarnings(
        'ignore', message='pkg_resources is deprecated', category=UserWarning)
    applied = []
    for name, needed, install in shims:
        if name in _active or not needed():
            continue
        install()
        _active.append(name)
        applied.append(name)
        announce(f'mil_seg.compat: {_DESCRIPTIONS.get(name, name)}')
    return applied
