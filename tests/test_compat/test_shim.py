"""Tests of mil_seg.compat.shim.rebind: a function replaced in every module
that imported it by name."""
import sys
import types

import pytest

from mil_seg.compat.shim import rebind


@pytest.fixture
def modules():
    """Two imported modules holding the same function, as a defining
    module and one that imported it by name do."""
    def original():
        return 'original'

    made = {}
    for name in ('mil_seg_test_defines', 'mil_seg_test_imports'):
        module = types.ModuleType(name)
        module.lookup = original
        made[name] = module
        sys.modules[name] = module
    yield made
    for name in made:
        sys.modules.pop(name, None)


def test_rebinds_every_module_that_holds_the_name(modules):
    rebind('lookup', lambda current: lambda: 'new ' + current(),
           ('mil_seg_test_defines', ),
           if_imported=('mil_seg_test_imports', 'mil_seg_test_absent'))
    assert modules['mil_seg_test_defines'].lookup() == 'new original'
    assert modules['mil_seg_test_imports'].lookup() == 'new original'
    assert 'mil_seg_test_absent' not in sys.modules  # not imported for it


def test_a_module_without_the_name_is_left_alone(modules):
    del modules['mil_seg_test_imports'].lookup
    rebind('lookup', lambda _: 'replaced', (),
           if_imported=('mil_seg_test_defines', 'mil_seg_test_imports'))
    assert modules['mil_seg_test_defines'].lookup == 'replaced'
    assert not hasattr(modules['mil_seg_test_imports'], 'lookup')
