"""Shim ``config_packages`` and the ``mil_seg::`` config scope: base
configs of the toolboxes resolve under the fork's distribution names, and
``mil_seg::`` bases resolve to the configs the package carries, building
in the scope of the config that inherits them."""
import os.path as osp

from mmengine.config import Config
from mmengine.config.utils import MODULE2PACKAGE

import mil_seg
from mil_seg.compat import config_packages

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_table_points_at_the_installed_distributions():
    """On the fork the table names onedl-*; on upstream it is unchanged."""
    import importlib.metadata
    providers = importlib.metadata.packages_distributions()
    for module in config_packages.CONFIG_PACKAGES:
        assert MODULE2PACKAGE[module] in providers[module], module
    on_fork = mil_seg.STACK == 'onedl'
    assert config_packages.SHIM.needed() == on_fork
    assert ('config_packages' in mil_seg.compat.active_shims()) == on_fork


def test_fork_distribution_names_are_found(monkeypatch):
    monkeypatch.setattr(
        config_packages, 'installed_distributions', lambda: {
            'mmseg': ['onedl-mmsegmentation'],
            'mmpretrain': ['onedl-mmpretrain']
        })
    assert config_packages.installed_config_distributions() == dict(
        mmseg='onedl-mmsegmentation', mmpretrain='onedl-mmpretrain')


def test_mil_seg_base_resolves_and_keeps_the_inheriting_scope(tmp_path):
    user = tmp_path / 'my_config.py'
    user.write_text("_base_ = ['mil_seg::gml_seg/fcn-gml_r18-tiny-d8_1xb8-"
                    "1k_camvid-240x180.py']\n")
    cfg = Config.fromfile(str(user))
    shipped = Config.fromfile(
        osp.join(ROOT, 'configs', 'gml_seg',
                 'fcn-gml_r18-tiny-d8_1xb8-1k_camvid-240x180.py'))
    assert cfg.model.decode_head.type == 'GMLHead'
    assert cfg.model.get('_scope_') is None
    assert cfg.default_scope == 'mmseg'
    assert cfg.model.to_dict() == shipped.model.to_dict()
