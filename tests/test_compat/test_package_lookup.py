"""``mil_seg.compat.package_lookup``: ``mmseg::`` base configs resolve
without ``pkg_resources``."""
import os.path as osp

from mil_seg.compat import package_lookup
from .conftest import run_python


def test_package_lookup_without_pkg_resources(tmp_path):
    config = tmp_path / 'child.py'
    config.write_text("_base_ = ['mmseg::_base_/models/fcn_r50-d8.py']\n"
                      "marker = 1\n")
    out = run_python(f'''
        import sys
        sys.modules['pkg_resources'] = None  # as with setuptools >= 81
        import mil_seg
        from mil_seg import compat
        from mmengine.config import Config
        cfg = Config.fromfile({str(config)!r})
        print('shims:', compat.active_shims())
        print('decode head:', cfg.model.decode_head.type)
    ''')
    assert 'package_lookup' in out
    assert 'decode head: FCNHead' in out


def test_importlib_lookup_agrees_with_mmengine():
    import mmseg
    from mmengine.config.utils import MODULE2PACKAGE

    # mmsegmentation, or onedl-mmsegmentation on the fork
    distribution = MODULE2PACKAGE['mmseg']
    assert package_lookup.get_installed_path(distribution) == \
        osp.dirname(mmseg.__file__)
    assert package_lookup.is_installed('mmseg')
    assert not package_lookup.is_installed('surely_not_a_package_mil_seg')
