"""Up-front checks that the data a config names exists."""
import os.path as osp
from typing import Any, Iterator, List

from mmengine.config import Config

from ..errors import MissingFileError


def _dataset_configs(node: Any) -> Iterator[dict]:
    """Every dict under ``node`` with a ``data_root``, ``data_prefix`` or
    ``ann_file``, wrapped datasets included."""
    if isinstance(node, dict):
        if 'data_root' in node or 'data_prefix' in node or 'ann_file' in node:
            yield node
        for value in node.values():
            yield from _dataset_configs(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _dataset_configs(value)


def missing_data_paths(cfg: Config, loaders: List[str]) -> List[str]:
    """Data roots and annotation files named by ``loaders`` that do not exist.

    Args:
        cfg (Config): The config.
        loaders (list[str]): Keys of the dataloaders to check, e.g.
            ``['train_dataloader', 'val_dataloader']``.

    Returns:
        list[str]: Missing paths, each once, in config order.
    """
    missing = []
    for key in loaders:
        loader = cfg.get(key)
        if not loader:
            continue
        for dataset in _dataset_configs(loader.get('dataset', {})):
            if dataset.get('auto_generate'):
                continue  # generated on first use
            root = dataset.get('data_root') or ''
            paths = [root] if root else []
            ann_file = dataset.get('ann_file')
            if isinstance(ann_file, str) and ann_file:
                paths.append(osp.join(root, ann_file))
            for path in paths:
                if path and not osp.exists(path) and path not in missing:
                    missing.append(path)
    return missing


def check_data(cfg: Config, loaders: List[str]) -> None:
    """Refuse a config whose data is not there, before anything is built.

    Args:
        cfg (Config): The config.
        loaders (list[str]): Keys of the dataloaders to check.

    Raises:
        MissingFileError: Naming the first missing data path.
    """
    missing = missing_data_paths(cfg, loaders)
    if missing:
        raise MissingFileError(
            f'data not found: {missing[0]} (from {loaders}); prepare the '
            'dataset (README, "Datasets") or point the config at it with '
            '--cfg-options train_dataloader.dataset.data_root=PATH ...')
