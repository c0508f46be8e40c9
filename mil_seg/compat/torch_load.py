"""Shim ``torch_load_allowlist``: torch >= 2.6 loads checkpoints with
``weights_only=True``.

Checkpoints written by mmengine hold a few non-tensor objects
(``HistoryBuffer`` from the message hub, numpy arrays and scalars,
``ConfigDict`` meta). Exactly those types are added to
``torch.serialization``'s safe globals, and ``HistoryBuffer`` stops pickling
references to its built-in methods (code), so ``--resume``, ``load_from``
and ``tools/test.py`` work without ``weights_only=False``; a pickle that
needs any other global is still refused by torch. Nothing else is trusted.
"""
import importlib

import torch

from .shim import Shim

_BUILTIN_STATISTICS = ('min', 'max', 'current', 'mean')


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


SHIM = Shim(
    name='torch_load_allowlist',
    description='torch >= 2.6 loads weights_only: mmengine checkpoint types '
    '(HistoryBuffer, ConfigDict, numpy) allow-listed',
    needed=torch_loads_weights_only_by_default,
    install=_allow_mmengine_checkpoints)
