"""mil_seg: long-tailed learning by mutual-information maximisation (GML).

Importing the package checks that the environment holds one supported
OpenMMLab stack (:mod:`.stack`), applies the compatibility layer (only the
parts this environment needs) and registers every module into the
MMSegmentation and MMPretrain registries.
"""
from .version import __version__
from .stack import check_stack_at_import

#: The OpenMMLab stack of this environment: 'upstream' or 'onedl'.
STACK = check_stack_at_import()

from . import compat  # noqa: E402

compat.apply()

from . import engine  # noqa: E402
from . import gml  # noqa: E402
from . import seg  # noqa: E402
from . import cls  # noqa: E402

__all__ = ['__version__', 'STACK', 'compat', 'engine', 'gml', 'seg', 'cls']
