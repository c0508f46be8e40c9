"""``mil_seg.compat``: one list of shims, each applied where needed and
announced once."""
import dataclasses

import pytest

from mil_seg import compat
from mil_seg.compat import (Shim, config_index, config_packages,
                            cpu_distributed, focal_loss, mil_seg_configs,
                            mmcv_ops, package_lookup, torch_load)
from .conftest import LOAD_COMPAT_STANDALONE, run_python


def test_one_list_with_every_shim_module_s_entry():
    modules = (mmcv_ops, torch_load, package_lookup, config_packages,
               config_index, mil_seg_configs, cpu_distributed, focal_loss)
    assert compat.SHIMS == tuple(module.SHIM for module in modules)
    names = [shim.name for shim in compat.SHIMS]
    assert names == ['mmcv_ops', 'torch_load_allowlist', 'package_lookup',
                     'config_packages', 'config_index', 'mil_seg_configs',
                     'cpu_distributed', 'focal_loss_cpu']
    for shim in compat.SHIMS:
        assert isinstance(shim, Shim) and shim.description
        assert callable(shim.needed) and callable(shim.install)
    with pytest.raises(dataclasses.FrozenInstanceError):
        compat.SHIMS[0].name = 'other'


def test_active_shims_are_those_this_environment_needs():
    assert compat.active_shims() == [
        shim.name for shim in compat.SHIMS if shim.needed()
    ]
    assert compat.apply() == []  # applied by `import mil_seg` already


def test_apply_installs_and_announces_each_needed_shim_once(monkeypatch):
    monkeypatch.setattr(compat, '_active', [])
    installed, messages = [], []

    def shim(name, needed):
        return Shim(name, f'{name} changed', lambda: needed,
                    lambda: installed.append(name))

    shims = [shim('first', True), shim('unneeded', False), shim('last', True)]
    assert compat.apply(shims, messages.append) == ['first', 'last']
    assert compat.apply(shims, messages.append) == []
    assert installed == ['first', 'last']
    assert messages == [
        'mil_seg.compat: first changed', 'mil_seg.compat: last changed'
    ]
    assert compat.active_shims() == ['first', 'last']


def test_a_fresh_interpreter_announces_every_applied_shim_once():
    out = run_python(LOAD_COMPAT_STANDALONE, '''
        applied = compat.apply(announce=print)
        assert compat.apply(announce=print) == []
        print('applied:', applied)
        print('active:', compat.active_shims())
    ''')
    lines = out.splitlines()
    applied = eval(lines[-2][len('applied: '):])
    assert lines[-1] == f'active: {applied}'
    descriptions = {shim.name: shim.description for shim in compat.SHIMS}
    assert lines[:-2] == [
        f'mil_seg.compat: {descriptions[name]}' for name in applied
    ]
