"""Shim ``config_packages``: ``mmseg::`` and ``mmpretrain::`` base configs
where the toolboxes are installed under other distribution names.

mmengine resolves ``mmseg::_base_/...`` through a fixed table from import
name to distribution name (``mmseg`` -> ``mmsegmentation``), so with the
maintained fork (``onedl-mmsegmentation``, ``onedl-mmpretrain``) every such
base fails with "mmsegmentation is not installed". Where the table names a
distribution that is not installed and another one provides the package,
the table entry is pointed at the installed one.

Registering ``mil_seg`` itself in that table (what makes ``mil_seg::``
configs resolve) is not a shim: :func:`register_mil_seg_configs` does it in
every environment.
"""
import functools
import importlib.metadata
from typing import Dict, List

from .shim import Shim

#: The toolboxes whose base configs mil_seg's configs inherit, with the
#: distribution mmengine's table names for each.
CONFIG_PACKAGES = {'mmseg': 'mmsegmentation', 'mmpretrain': 'mmpretrain'}


@functools.lru_cache(maxsize=1)
def installed_distributions() -> Dict[str, List[str]]:
    """Top-level package -> the installed distributions that provide it.

    ``importlib.metadata.packages_distributions`` reads every installed
    distribution's file list, a slow scan; the stack check and this shim
    both need it at import, so it is read once per process.

    Returns:
        dict: e.g. ``{'mmseg': ['onedl-mmsegmentation'], ...}``.
    """
    return importlib.metadata.packages_distributions()


def installed_config_distributions() -> Dict[str, str]:
    """Import name -> installed distribution, for the toolboxes whose
    distribution differs from the one mmengine's table names.

    Returns:
        dict: e.g. ``{'mmseg': 'onedl-mmsegmentation'}`` on the fork; empty
        on upstream OpenMMLab.
    """
    providers = installed_distributions()
    changes = {}
    for module, upstream in CONFIG_PACKAGES.items():
        names = providers.get(module, [])
        if names and upstream not in names:
            changes[module] = names[0]
    return changes


def _point_table_at_installed() -> None:
    from mmengine.config.utils import MODULE2PACKAGE
    MODULE2PACKAGE.update(installed_config_distributions())


def register_mil_seg_configs() -> None:
    """Make ``mil_seg::<path>`` name the configs the installed package
    carries (``mil_seg/.mim/configs``, as OpenMMLab packages do).

    mmengine gives every dict of a ``package::`` base the package's
    registry scope (``_scope_='mil_seg'``). mil_seg registers its modules
    into MMSegmentation's and MMPretrain's registries and has no scope of
    its own, so its bases keep the scope of the config that inherits them
    (its ``default_scope``, ``mmseg`` or ``mmpretrain``).
    """
    from mmengine.config import Config
    from mmengine.config.utils import MODULE2PACKAGE
    MODULE2PACKAGE.setdefault('mil_seg', 'mil_seg')
    if getattr(Config._get_cfg_path, '_mil_seg', False):
        return
    original = Config._get_cfg_path

    @functools.wraps(original)
    def get_cfg_path(cfg_path: str, filename: str):
        path, scope = original(cfg_path, filename)
        return path, None if scope == 'mil_seg' else scope

    get_cfg_path._mil_seg = True
    Config._get_cfg_path = staticmethod(get_cfg_path)


SHIM = Shim(
    name='config_packages',
    description='toolboxes under other distribution names (the onedl '
    'fork): mmseg:: and mmpretrain:: configs resolve to them',
    needed=lambda: bool(installed_config_distributions()),
    install=_point_table_at_installed)
