"""``mil_seg.stack``: one supported OpenMMLab stack per environment, or one
clear error naming the distributions and the command that fixes it."""
import os
import os.path as osp
import subprocess
import sys

import pytest

from mil_seg.stack import (STACKS, IncompatibleStackError, Installed,
                           check_stack, installed_toolboxes)

UPSTREAM = dict(
    mmengine=[Installed('mmengine', '0.10.7', 'upstream')],
    mmcv=[Installed('mmcv-lite', '2.1.0', 'upstream')],
    mmseg=[Installed('mmsegmentation', '1.2.2', 'upstream')],
    mmpretrain=[Installed('mmpretrain', '1.2.0', 'upstream')])
ONEDL = dict(
    mmengine=[Installed('onedl-mmengine', '0.10.12', 'onedl')],
    mmcv=[Installed('onedl-mmcv', '2.3.6', 'onedl')],
    mmseg=[Installed('onedl-mmsegmentation', '1.4.2', 'onedl')],
    mmpretrain=[Installed('onedl-mmpretrain', '1.3.6', 'onedl')])


def test_this_environment_holds_one_supported_stack():
    found = installed_toolboxes()
    assert all(len(dists) == 1 for dists in found.values()), found
    assert check_stack(found) in STACKS


@pytest.mark.parametrize('found, stack', [(UPSTREAM, 'upstream'),
                                          (ONEDL, 'onedl')])
def test_each_stack_is_accepted(found, stack):
    assert check_stack(found) == stack


def test_full_mmcv_and_patch_releases_inside_the_range():
    assert check_stack(
        dict(UPSTREAM, mmcv=[Installed('mmcv', '2.1.2', 'upstream')],
             mmengine=[Installed('mmengine', '0.10.8rc1', 'upstream')])
    ) == 'upstream'


def test_toolbox_installed_by_both_stacks_names_both_and_the_fix():
    found = dict(ONEDL, mmseg=[
        Installed('mmsegmentation', '1.2.2', 'upstream'),
        Installed('onedl-mmsegmentation', '1.4.2', 'onedl')
    ])
    with pytest.raises(IncompatibleStackError) as error:
        check_stack(found)
    message = str(error.value)
    assert 'mmseg is installed by 2 distributions, mmsegmentation 1.2.2 ' \
        'and onedl-mmsegmentation 1.4.2' in message
    assert ('pip uninstall -y mmsegmentation onedl-mmsegmentation && pip '
            "install 'onedl-mmsegmentation==1.4.2'") in message
    assert isinstance(error.value, ImportError)


def test_mixed_stacks_name_the_distributions_to_replace():
    found = dict(ONEDL, mmengine=UPSTREAM['mmengine'])
    with pytest.raises(IncompatibleStackError,
                       match=r'mixes OpenMMLab stacks: onedl: .*; upstream: '
                       r'mmengine 0\.10\.7\. .*pip uninstall -y mmengine && '
                       r"pip install 'onedl-mmengine>=0\.10\.12,<0\.11'"):
        check_stack(found)


@pytest.mark.parametrize('toolbox, version', [('mmseg', '1.3.0'),
                                              ('mmcv', '2.2.0'),
                                              ('mmengine', '0.10.6')])
def test_version_outside_the_range_names_the_range_and_the_fix(
        toolbox, version):
    dist = UPSTREAM[toolbox][0]
    found = dict(UPSTREAM, **{toolbox: [dist._replace(version=version)]})
    requirement = STACKS['upstream'][toolbox]
    with pytest.raises(IncompatibleStackError) as error:
        check_stack(found)
    message = str(error.value)
    assert f'{dist.name} {version} is outside the range' in message
    assert requirement.spec() in message
    assert f"pip install '{requirement.distributions[0]}" in message


def test_unknown_distribution_is_refused():
    found = dict(UPSTREAM, mmseg=[Installed('mmseg-nightly', '1.2.2', None)])
    with pytest.raises(IncompatibleStackError,
                       match='mmseg-nightly 1.2.2, which is not a '
                       'distribution mil_seg supports'):
        check_stack(found)


def test_no_metadata_is_accepted():
    assert check_stack({name: [] for name in UPSTREAM}) == 'unknown'


def fake_distribution(root, name: str, version: str, package: str) -> None:
    """A ``.dist-info`` that claims ``package`` (no files of its own)."""
    info = osp.join(root, f'{name.replace("-", "_")}-{version}.dist-info')
    os.makedirs(info)
    with open(osp.join(info, 'METADATA'), 'w') as f:
        f.write(f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n')
    with open(osp.join(info, 'top_level.txt'), 'w') as f:
        f.write(package + '\n')


def test_import_ends_with_one_clear_error(tmp_path):
    """A second distribution of mmseg (from the other stack) in the
    environment: ``import mil_seg`` fails with the stack error."""
    current = installed_toolboxes()['mmseg'][0]
    other = 'onedl-mmsegmentation' if current.stack == 'upstream' else \
        'mmsegmentation'
    fake_distribution(str(tmp_path), other, '1.4.2', 'mmseg')
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    result = subprocess.run([sys.executable, '-c', 'import mil_seg'],
                            capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith('mil_seg.stack.IncompatibleStackError: mmseg is '
                           'installed by 2 distributions')
    assert 'pip uninstall -y' in last
    # the escape hatch
    env['MIL_SEG_SKIP_STACK_CHECK'] = '1'
    result = subprocess.run([sys.executable, '-c', 'import mil_seg'],
                            capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
