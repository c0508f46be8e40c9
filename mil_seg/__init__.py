"""mil_seg: long-tailed learning by mutual-information maximisation (GML).

Importing the package applies the compatibility layer (only the parts this
environment needs) and registers every module into the MMSegmentation and
MMPretrain registries.
"""
from .version import __version__
from . import compat

compat.apply()

from . import engine  # noqa: E402
from . import gml  # noqa: E402
from . import seg  # noqa: E402
from . import cls  # noqa: E402

__all__ = ['__version__', 'compat', 'engine', 'gml', 'seg', 'cls']
