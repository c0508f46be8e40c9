"""``mil_seg.compat.mil_seg_configs``: ``mil_seg::`` base configs are found
through the imported package, from any working directory, also where the
distribution's metadata lies elsewhere (an editable install)."""
import os
import os.path as osp
import subprocess
import sys
import textwrap

import pytest
from mmengine.config import config as config_module
from mmengine.config.utils import MODULE2PACKAGE

import mil_seg
from mil_seg.compat import mil_seg_configs

PACKAGE_DIR = osp.dirname(osp.abspath(mil_seg.__file__))
DEMO = 'gml_seg/demo_gml_tiny_1xb8-1k_synthetic-lt-64x64.py'


def test_lookup_answers_the_imported_package_for_mil_seg_only():
    import mmseg
    assert mil_seg_configs.PACKAGE_DIR == PACKAGE_DIR
    assert config_module.get_installed_path('mil_seg') == PACKAGE_DIR
    assert osp.realpath(config_module.get_installed_path(
        MODULE2PACKAGE['mmseg'])) == osp.realpath(
            osp.dirname(mmseg.__file__))
    # applied exactly where mmengine's own lookup misses the package
    assert ('mil_seg_configs' in mil_seg.compat.active_shims()) == (
        osp.realpath(mil_seg_configs.mmengine_package_dir() or '.') !=
        osp.realpath(PACKAGE_DIR))


USER_CONFIG = f"""_base_ = ['mil_seg::{DEMO}']
model = dict(decode_head=dict(embed_dim=32))
"""

# The imported package's parent goes to the END of sys.path: the package is
# imported from there (or from the same folder through an editable
# install's finder), while distribution metadata earlier on the path (the
# install's, in site-packages) is what mmengine's own lookup reads: the
# layout of an editable install, in this test's environment too, without
# the repository's root (or its stray *.egg-info) ahead of site-packages.
LOAD_USER_CONFIG = """
import os.path as osp, sys
sys.path.append({parent!r})
import mil_seg
assert osp.dirname(osp.abspath(mil_seg.__file__)) == {package!r}, \\
    mil_seg.__file__
from mmengine.config import Config
cfg = Config.fromfile('my_config.py')
print('head:', cfg.model.decode_head.type, cfg.model.decode_head.embed_dim)
print('scope:', cfg.default_scope)
"""


def test_user_config_outside_the_repository_inherits_mil_seg_base(
        tmp_path):
    if not osp.isfile(osp.join(PACKAGE_DIR, '.mim', 'model-index.yml')):
        pytest.fail(f'{PACKAGE_DIR}/.mim is missing: install the package '
                    '(pip install -e . writes it; setup.py write_mim)')
    (tmp_path / 'my_config.py').write_text(USER_CONFIG)
    env = {key: value for key, value in os.environ.items()
           if key != 'PYTHONPATH'}
    env['PYTHONWARNINGS'] = 'ignore'
    code = LOAD_USER_CONFIG.format(parent=osp.dirname(PACKAGE_DIR),
                                   package=PACKAGE_DIR)
    result = subprocess.run([sys.executable, '-c', textwrap.dedent(code)],
                            cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'head: GMLHead 32' in result.stdout
    assert 'scope: mmseg' in result.stdout
