"""Compatibility layer between the pinned OpenMMLab stack and recent PyTorch.

This is the only package of ``mil_seg`` that patches anything. Each shim
lives in its own module, which defines one :class:`Shim` (its name, its
description, when it is needed and how it is installed); :data:`SHIMS` is
the one list of them. :func:`apply` installs those this environment needs
and announces each once:

* ``mmcv_ops`` (:mod:`.mmcv_ops`): mmcv-lite (or any mmcv without compiled
  ops) is installed. ``mmcv.ops`` becomes a module with pure-PyTorch
  ``point_sample`` and ``sigmoid_focal_loss``; every other op raises
  :class:`MissingCompiledOpError` (telling the user to install full mmcv)
  when it is used.
* ``torch_load_allowlist`` (:mod:`.torch_load`): torch >= 2.6 loads
  checkpoints with ``weights_only=True``. Exactly the non-tensor types that
  mmengine checkpoints hold are allow-listed, so ``--resume``, ``load_from``
  and ``tools/test.py`` work without ``weights_only=False``; nothing else is
  trusted.
* ``package_lookup`` (:mod:`.package_lookup`): setuptools >= 81 has no
  ``pkg_resources``; mmengine's package lookup for ``mmseg::`` and
  ``mmpretrain::`` base configs then uses ``importlib.metadata``. With
  ``pkg_resources`` present only its deprecation warning is silenced.
* ``config_packages`` (:mod:`.config_packages`): the toolboxes are installed
  under other distribution names (the ``onedl-*`` fork); ``mmseg::`` and
  ``mmpretrain::`` base configs resolve to those.
* ``config_index`` (:mod:`.config_index`): mmengine reads a toolbox's
  model index (``model-index.yml`` and every metafile) for each
  ``mmseg::`` or ``mmpretrain::`` base of every config it parses; it is
  read once per process. Needed with every mmengine release so far.
* ``mil_seg_configs`` (:mod:`.mil_seg_configs`): mmengine looks for
  ``mil_seg::`` base configs in another folder than the imported package's
  (an editable install on upstream mmengine: the distribution's metadata
  lies in site-packages); they are read from the imported package's
  ``.mim``.
* ``cpu_distributed`` (:mod:`.cpu_distributed`): no CUDA device. torchrun
  start-up creates a gloo process group without pinning a GPU, launchers
  wrap the model in ``CPUDistributedDataParallel``, and ``SyncBN``
  synchronises CPU tensors over gloo.
* ``focal_loss_cpu`` (:mod:`.focal_loss`): MMSegmentation's ``FocalLoss``
  gets CPU tensors wrong (mmseg issue 3249; MMSegmentation 1.2.2 and
  onedl-mmsegmentation 1.4.2 alike, whatever the device). It takes its
  ``sigmoid_focal_loss`` branch, the one GPU tensors take, on every device;
  that op runs pure PyTorch for CPU tensors.

With full mmcv, torch < 2.6, ``pkg_resources`` present, a GPU, an
MMSegmentation whose ``FocalLoss`` works on the CPU and a wheel install of
mil_seg, only ``config_index`` is applied.

The modules of this package import each other relatively only, so that the
package can be loaded on its own (its tests do, to apply it in a fresh
interpreter without ``import mil_seg``).
"""
import sys
from typing import Callable, List, Optional, Sequence

from . import (config_index, config_packages, cpu_distributed, focal_loss,
               mil_seg_configs, mmcv_ops, package_lookup, torch_load)
from .config_packages import register_mil_seg_configs
from .cpu_distributed import (cpu_sync_batch_norm_class, cuda_unavailable,
                              register_cpu_ddp_wrapper)
from .focal_loss import focal_loss_cpu_path_broken
from .mmcv_ops import (MissingCompiledOpError, mmcv_has_compiled_ops,
                       point_sample, sigmoid_focal_loss)
from .package_lookup import (get_installed_path, is_installed,
                             pkg_resources_available)
from .shim import Shim
from .torch_load import (mmengine_checkpoint_globals,
                         torch_loads_weights_only_by_default)

#: The package's shims, in the order they are applied.
SHIMS = (
    mmcv_ops.SHIM,
    torch_load.SHIM,
    package_lookup.SHIM,
    config_packages.SHIM,
    config_index.SHIM,
    mil_seg_configs.SHIM,
    cpu_distributed.SHIM,
    focal_loss.SHIM,
)

_active: List[str] = []
_applied = False


def active_shims() -> List[str]:
    """Names of the shims applied in this process, in order.

    Returns:
        list[str]: The names, e.g. ``['mmcv_ops', 'cpu_distributed']``.
    """
    return list(_active)


def apply(shims: Optional[Sequence[Shim]] = None,
          announce: Optional[Callable[[str], None]] = None) -> List[str]:
    """Apply the shims this environment needs (idempotent).

    A shim already applied in this process is skipped, so each is installed
    and announced at most once.

    Args:
        shims (Sequence[Shim], optional): The shims to consider; tests pass
            their own. Defaults to :data:`SHIMS`, of which a second call
            applies nothing.
        announce (Callable[[str], None], optional): Receives
            ``mil_seg.compat: <description>`` once per applied shim.
            Defaults to a line on stderr (a diagnostic: the tools' output
            on stdout, a benchmark's tables, stays clean; a training's log
            lists the shims again through its runner's logger).

    Returns:
        list[str]: Names of the shims applied by this call.
    """
    global _applied
    if shims is None:
        if _applied:
            return []
        _applied = True
        shims = SHIMS
    if announce is None:
        def announce(message: str) -> None:
            print(message, file=sys.stderr, flush=True)

    package_lookup.silence_pkg_resources_warning()
    register_mil_seg_configs()
    applied = []
    for shim in shims:
        if shim.name in _active or not shim.needed():
            continue
        shim.install()
        _active.append(shim.name)
        applied.append(shim.name)
        announce(f'mil_seg.compat: {shim.description}')
    return applied


__all__ = [
    'SHIMS', 'Shim', 'apply', 'active_shims', 'MissingCompiledOpError',
    'mmcv_has_compiled_ops', 'point_sample', 'sigmoid_focal_loss',
    'torch_loads_weights_only_by_default', 'mmengine_checkpoint_globals',
    'pkg_resources_available', 'is_installed', 'get_installed_path',
    'cuda_unavailable', 'cpu_sync_batch_norm_class',
    'register_cpu_ddp_wrapper', 'register_mil_seg_configs',
    'focal_loss_cpu_path_broken'
]
