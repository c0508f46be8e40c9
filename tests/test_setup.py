"""setup.py: the package installs without toolbox requirements, and a wheel
carries the configs and tools (``mil_seg/.mim``) so that an installed
package serves ``mil_seg::`` base configs and ``python -m
mil_seg.tools.train`` outside the repository."""
import os
import os.path as osp
import subprocess
import sys
import zipfile

import pytest

from .tool_runner import ROOT, small_seg_options

TOOLBOXES = ('mmengine', 'mmcv', 'mmsegmentation', 'mmpretrain')


def metadata_requirements() -> list:
    """``Requires-Dist`` of the package as installed in this environment."""
    import importlib.metadata
    return importlib.metadata.requires('mil_seg') or []


def test_no_toolbox_is_an_install_requirement():
    """A requirement on either stack's distribution names would install it
    beside a user's other stack; the toolboxes are extras."""
    unconditional = [r for r in metadata_requirements() if 'extra ==' not in r]
    for requirement in unconditional:
        name = requirement.split(';')[0].strip().lower()
        assert not any(toolbox in name for toolbox in TOOLBOXES), name
        assert not name.startswith('onedl-'), name
    extras = ' '.join(metadata_requirements())
    assert 'extra == "upstream"' in extras and 'extra == "onedl"' in extras


@pytest.mark.xdist_group('wheel')
def test_wheel_carries_configs_and_tools(installed_wheel):
    names = zipfile.ZipFile(installed_wheel.wheel).namelist()
    for config in os.listdir(osp.join(ROOT, 'configs', 'gml_seg')):
        assert f'mil_seg/.mim/configs/gml_seg/{config}' in names, config
    assert 'mil_seg/.mim/configs/_base_/models/tiny_fcn_camvid.py' in names
    assert 'mil_seg/.mim/tools/dist_train.sh' in names
    assert 'mil_seg/tools/train.py' in names
    assert 'mil_seg/priors/camvid.json' in names
    assert 'mil_seg/priors/ccp.json' in names
    assert 'mil_seg/seg/datasets/ccp_split.json' in names
    assert not any('__pycache__' in name or name.startswith('tests/')
                   for name in names)


@pytest.mark.xdist_group('wheel')
def test_installed_wheel_trains_a_user_config_outside_the_repository(
        installed_wheel, synthetic_root, tmp_path):
    """The wheel installed into its own directory (ahead of the repository
    on the path), a user's project elsewhere whose config inherits a
    ``mil_seg::`` config, trained by ``python -m mil_seg.tools.train``."""
    site = installed_wheel.site
    project = tmp_path / 'project'
    project.mkdir()
    (project / 'my_config.py').write_text(
        "_base_ = ['mil_seg::gml_seg/demo_gml_tiny_1xb8-1k_synthetic-lt-"
        "64x64.py']\nmodel = dict(decode_head=dict(embed_dim=32))\n")
    env = {
        key: value for key, value in os.environ.items()
        if key != 'PYTHONPATH'
    }
    env.update(PYTHONPATH=site, PYTHONWARNINGS='ignore', OMP_NUM_THREADS='1')
    # the installed package, and its own configs (the benchmark's)
    where = subprocess.run(
        [sys.executable, '-c', 'import mil_seg; print(mil_seg.__file__); '
         'from mil_seg.benchmark import config_root; print(config_root())'],
        cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert [line.startswith(site) for line in
            where.stdout.strip().splitlines()[-2:]] == [True, True], \
        where.stdout[-1000:] + where.stderr[-2000:]
    result = subprocess.run(
        [
            sys.executable, '-m', 'mil_seg.tools.train', 'my_config.py',
            '--work-dir', 'work', *small_seg_options(synthetic_root, 2)
        ],
        cwd=project, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (project / 'work' / 'iter_2.pth').exists()
