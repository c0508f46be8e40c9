"""Shim ``mil_seg_configs``: ``mil_seg::`` base configs are found through
the imported package, wherever its distribution's metadata lies.

mmengine finds a ``package::`` config under ``<package folder>/.mim``, and
upstream mmengine takes that folder from the distribution: its location
(the folder holding its metadata) joined with the package name. In an
editable install (``pip install -e .``, the README's install) the metadata
lies in site-packages and the package in the source tree, so every
``mil_seg::`` base failed with ``FileNotFoundError:
.../site-packages/mil_seg/.mim/model-index.yml`` (from any working
directory but the repository's root, where a stray ``mil_seg.egg-info``
hid it). Where mmengine's lookup names another folder than the one this
package is imported from, the lookup of ``mil_seg`` (and of nothing else)
answers the imported package's folder: its ``.mim`` holds the configs
(copied into a wheel and a ``--target`` install, linked to the source tree
by an editable install; see ``setup.py``).
"""
import functools
import os.path as osp

from .shim import Shim, rebind

#: The folder of the imported ``mil_seg`` package (this module's parent's).
PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: Where mmengine imported ``get_installed_path`` by name (``hub`` only
#: when imported).
_MODULES = ('mmengine.utils.package_utils', 'mmengine.utils',
            'mmengine.config.config')


def mmengine_package_dir() -> str:
    """The folder mmengine's own lookup gives for ``mil_seg::`` configs.

    Returns:
        str: Its ``get_installed_path('mil_seg')`` (this shim's answer
        aside), or '' where it fails.
    """
    from mmengine.config import config as config_module
    lookup = config_module.get_installed_path
    if getattr(lookup, '_mil_seg', False):
        lookup = lookup.__wrapped__
    try:
        return lookup('mil_seg')
    except Exception:  # whatever it raises, mil_seg:: configs fail with it
        return ''


def lookup_misses_package() -> bool:
    """Whether mmengine's lookup names another folder than the imported
    package's (an editable install on upstream mmengine)."""
    found = mmengine_package_dir()
    return not found or osp.realpath(found) != osp.realpath(PACKAGE_DIR)


def _answer_mil_seg(original):

    @functools.wraps(original)
    def get_installed_path(package: str) -> str:
        if package == 'mil_seg':
            return PACKAGE_DIR
        return original(package)

    get_installed_path._mil_seg = True
    return get_installed_path


def _find_configs_through_the_package() -> None:
    rebind('get_installed_path',
           lambda current: current if getattr(current, '_mil_seg', False)
           else _answer_mil_seg(current), _MODULES,
           if_imported=('mmengine.hub.hub', ))


SHIM = Shim(
    name='mil_seg_configs',
    description='mmengine looks for mil_seg:: configs outside the imported '
    f'package (an editable install): they are read from {PACKAGE_DIR}/.mim',
    needed=lookup_misses_package,
    install=_find_configs_through_the_package)
