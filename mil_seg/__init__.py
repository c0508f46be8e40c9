"""mil_seg: long-tailed learning by mutual-information maximisation (GML).

``import mil_seg`` checks that the environment holds one supported
OpenMMLab stack (:mod:`.stack`), applies the compatibility layer (only the
parts this environment needs, once) and registers every module into the
MMSegmentation and MMPretrain registries.

``import mil_seg.gml`` (the method), ``import mil_seg.losses`` (the
baselines) and ``import mil_seg.launch`` (what the launchers share: one-line
user errors, process groups, config and file checks) need none of that:
they import torch, numpy and mmengine only and patch nothing. Python runs
this file before any of them, so it does only the light part for them and
completes the package the first time anything else is imported or used
(``import mil_seg``, ``mil_seg.seg``, ``mil_seg.STACK``; see
:mod:`._import_mode`).
"""
import sys

from . import _import_mode
from .version import __version__

#: Modules (with their submodules) whose import leaves the package light.
LIGHT = ('mil_seg.gml', 'mil_seg.losses', 'mil_seg.launch', 'mil_seg.errors',
         'mil_seg.installed_weights', 'mil_seg.version',
         'mil_seg._import_mode')


def _import_everything() -> None:
    """The whole package: the stack check, the compatibility layer and the
    registration of both adapters."""
    global STACK
    from .stack import check_stack_at_import

    #: The OpenMMLab stack of this environment: 'upstream' or 'onedl'.
    STACK = check_stack_at_import()

    from . import compat
    compat.apply()

    # registration
    from . import engine, gml, losses, seg, cls  # noqa: F401


__all__ = [
    '__version__', 'STACK', 'compat', 'engine', 'gml', 'losses', 'seg', 'cls'
]

if _import_mode.within_any(_import_mode.requested_module(__name__), LIGHT):
    _import_mode.defer_completion(sys.modules[__name__], LIGHT,
                                  _import_everything)
else:
    _import_everything()
