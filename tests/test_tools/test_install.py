"""tools/install.sh: refuses a disk too small for torch before installing."""
import os.path as osp
import sys

from ..tool_runner import run_command


def test_install_refuses_when_disk_too_small_for_torch(tmp_path):
    venv = tmp_path / 'venv'
    # No disk has 10**6 GiB free: the check must refuse before any pip call.
    result = run_command(['bash', 'tools/install.sh'],
                         timeout=300,
                         VENV=str(venv),
                         PYTHON=sys.executable,
                         TORCH_DISK_GIB=str(10**6))
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'free some space' in result.stderr
    assert 'VENV=' in result.stderr
    assert str(venv) in result.stderr
    # Refused before installing anything: no torch, no mmcv, no mil_seg.
    site = list(venv.glob('lib/python*/site-packages'))
    assert len(site) == 1
    for package in ('torch', 'mmcv', 'mil_seg'):
        assert not osp.exists(site[0] / package), package
