"""Shim ``config_index``: a toolbox's model index is read once per process.

For every ``mmseg::`` or ``mmpretrain::`` base config, mmengine's
``_get_cfg_metainfo`` loads the package's ``.mim/model-index.yml`` and every
metafile it imports (MMSegmentation's: about 160 YAML files) to learn
whether the name is one of the package's model configs; for a
``_base_/...`` name it is not, and mmengine then takes the file path as
given. Every config that inherits such a base pays that again on every
parse, most of the time a config takes to load. The index is read once per
package folder and kept, keyed by the modification time of
``model-index.yml`` so that a reinstalled toolbox is read afresh; answers,
the error for a name that is not in the index included, are mmengine's.
"""
import copy
import functools
import os.path as osp
import warnings
from typing import Dict

from .shim import Shim, rebind


@functools.lru_cache(maxsize=None)
def _model_index(package_path: str, index_mtime: float) -> Dict[str, dict]:
    """Config name -> the metafile entry of its model, for one package.

    Args:
        package_path (str): The installed package's folder.
        index_mtime (float): Modification time of its ``model-index.yml``
            (only part of the cache key).

    Returns:
        dict: As mmengine builds it: the first entry per config name;
        entries without ``Config`` are skipped with mmengine's warning.
    """
    from mmengine.fileio import load
    index = load(osp.join(package_path, '.mim', 'model-index.yml'))
    configs: Dict[str, dict] = {}
    for meta_path in index['Import']:
        for model in load(osp.join(package_path, '.mim',
                                   meta_path))['Models']:
            if 'Config' not in model:
                warnings.warn(f'There is not `Config` define in {model}')
                continue
            configs.setdefault(model['Config'].partition('/')[-1], model)
    return configs


def cfg_metainfo(package_path: str, cfg_path: str) -> dict:
    """``mmengine.config.utils._get_cfg_metainfo``, read once per package.

    Args:
        package_path (str): The installed package's folder.
        cfg_path (str): A config's path under the package's ``configs``
            folder, as mmengine's callers pass it (the index's names keep
            ``.py``).

    Returns:
        dict: A copy of the metafile entry of that config's model.

    Raises:
        ValueError: ``cfg_path`` names no model config (mmengine's error,
            which its callers catch to read ``cfg_path`` as a file path).
    """
    index_file = osp.join(package_path, '.mim', 'model-index.yml')
    configs = _model_index(package_path, osp.getmtime(index_file))
    if cfg_path not in configs:
        raise ValueError(f'Expected configs: {configs.keys()}, but got '
                         f'{cfg_path}')
    return copy.deepcopy(configs[cfg_path])


def mmengine_rereads_index() -> bool:
    """Whether mmengine's own lookup reads the index on every call (it
    does in every release so far; this shim's lookup stands for it)."""
    from mmengine.config import utils
    lookup = utils._get_cfg_metainfo
    return lookup is cfg_metainfo or not hasattr(lookup, 'cache_info')


def _read_index_once() -> None:
    # mmengine.hub.hub imported _get_cfg_metainfo by name
    rebind('_get_cfg_metainfo', lambda _: cfg_metainfo,
           ('mmengine.config.utils', ), if_imported=('mmengine.hub.hub', ))


SHIM = Shim(
    name='config_index',
    description='mmengine reads a toolbox\'s model index (every metafile) '
    'for each mmseg:: or mmpretrain:: base config: it is read once per '
    'process',
    needed=mmengine_rereads_index,
    install=_read_index_once)
