"""Helpers of the compatibility-layer tests: fresh interpreters, and the
layer loaded there on its own (without ``import mil_seg``, which applies
it)."""
import os.path as osp
import subprocess
import sys
import textwrap

import mil_seg

COMPAT_DIR = osp.join(osp.dirname(mil_seg.__file__), 'compat')

# Loads mil_seg/compat as the package ``compat_under_test``; the layer's
# modules import each other relatively, so nothing else of mil_seg runs.
LOAD_COMPAT_STANDALONE = f'''
import importlib.util
import sys
spec = importlib.util.spec_from_file_location(
    'compat_under_test', {osp.join(COMPAT_DIR, '__init__.py')!r},
    submodule_search_locations=[{COMPAT_DIR!r}])
compat = importlib.util.module_from_spec(spec)
sys.modules['compat_under_test'] = compat
spec.loader.exec_module(compat)
assert 'mil_seg' not in sys.modules, 'loading compat imported mil_seg'
'''


def run_python(*parts: str) -> str:
    """Run the code parts in a fresh interpreter; return stdout."""
    code = '\n'.join(textwrap.dedent(part) for part in parts)
    result = subprocess.run([sys.executable, '-c', code],
                            capture_output=True,
                            text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout
