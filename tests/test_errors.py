"""``mil_seg.errors``: one user-error type, catchable as the builtin
errors callers already catch, importable without the toolboxes."""
import subprocess
import sys

import pytest

import mil_seg
from mil_seg.errors import MissingFileError, UserError, WrongModuleError


@pytest.mark.parametrize('error_type,builtin',
                         [(UserError, ValueError),
                          (MissingFileError, FileNotFoundError),
                          (WrongModuleError, TypeError)])
def test_user_errors_are_also_the_builtin_errors(error_type, builtin):
    error = error_type('set data_root')
    assert isinstance(error, UserError) and isinstance(error, builtin)
    assert str(error) == 'set data_root'
    # libraries re-raise an error as its type with a longer message
    wrapped = type(error)(f'class `Head` in heads.py: {error}')
    assert isinstance(wrapped, error_type)
    assert str(wrapped) == 'class `Head` in heads.py: set data_root'


def test_launch_imports_neither_mmseg_nor_mmpretrain():
    # A stand-in parent package: `import mil_seg` itself registers modules
    # into both toolboxes.
    code = f'''
import sys, types
package = types.ModuleType('mil_seg')
package.__path__ = [{mil_seg.__path__[0]!r}]
sys.modules['mil_seg'] = package
import mil_seg.errors
print('after errors:', sorted({{'mmseg', 'mmpretrain'}} & set(sys.modules)))
import mil_seg.launch
print('after launch:', sorted({{'mmseg', 'mmpretrain'}} & set(sys.modules)))
'''
    result = subprocess.run([sys.executable, '-c', code],
                            capture_output=True,
                            text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines() == ['after errors: []',
                                          'after launch: []']
