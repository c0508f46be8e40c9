"""`import mil_seg` registers the package into both toolboxes' registries
without ambiguity (the shared core is one class in both) and applies the
compatibility layer once; `import mil_seg.gml` (the core) loads no toolbox
and patches nothing, and completes to the whole package when anything else
is imported after it. The import tests run fresh interpreters."""
import ast
import os
import os.path as osp
import subprocess
import sys
import textwrap

import pytest

import mil_seg  # noqa: F401

GML_DIR = osp.join(osp.dirname(mil_seg.__file__), 'gml')
#: A config outside the package's folders that inherits a ``mil_seg::``
#: base (itself inheriting ``mmseg::`` ones).
USER_CONFIG = osp.join(osp.dirname(osp.abspath(__file__)), 'data',
                       'user_config_with_mil_seg_base.py')

# Prints what the interpreter holds of mil_seg and the toolboxes, the
# compatibility layer's applied shims (None: not loaded) and whether both
# toolboxes' registries hold the package.
REPORT = '''
import sys
mods = sorted(m for m in sys.modules
              if m.split('.')[0] in ('mmseg', 'mmpretrain', 'mmcv')
              or m == 'mil_seg' or m.startswith('mil_seg.'))
compat = sys.modules.get('mil_seg.compat')
print('MODULES', mods)
print('SHIMS', None if compat is None else compat.active_shims())
if 'mmseg' in sys.modules:
    from mmseg.registry import MODELS as SEG
    from mmpretrain.registry import MODELS as CLS
    print('REGISTERED', SEG.get('GMLHead') is not None,
          SEG.get('BLVLoss') is CLS.get('BLVLoss') is not None,
          CLS.get('GMLClsHead') is not None)
'''


def run_python(code: str) -> dict:
    """Run ``code`` then REPORT in a fresh interpreter; return the report
    and the announcements of the compatibility layer."""
    result = subprocess.run(
        [sys.executable, '-c',
         textwrap.dedent(code) + REPORT],
        capture_output=True,
        text=True,
        timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = {}
    for line in result.stdout.splitlines():
        key, _, value = line.partition(' ')
        if key in ('MODULES', 'SHIMS', 'REGISTERED'):
            report[key] = value
    report['announced'] = [
        line.split('mil_seg.compat: ')[1]
        for line in (result.stdout + result.stderr).splitlines()
        if 'mil_seg.compat: ' in line
    ]
    return report


def test_the_core_loads_no_toolbox_and_patches_nothing():
    report = run_python('''
        import mil_seg.gml
        import mil_seg.gml.teacher
        from mil_seg.errors import UserError
        import mil_seg.losses
        from mil_seg.launch import check_files, run_guarded
    ''')
    modules = eval(report['MODULES'])
    light = ('mil_seg.gml', 'mil_seg.losses', 'mil_seg.launch',
             'mil_seg.errors', 'mil_seg.installed_weights', 'mil_seg.version',
             'mil_seg._import_mode')
    assert [m for m in modules if m.split('.')[0] != 'mil_seg'] == []
    assert [
        m for m in modules
        if m != 'mil_seg' and not any(m == n or m.startswith(n + '.')
                                      for n in light)
    ] == []
    assert report['SHIMS'] == 'None' and report['announced'] == []


@pytest.mark.parametrize('code', [
    'import mil_seg',
    'import mil_seg.gml\nimport mil_seg',
    # mmengine's custom_imports: importlib.import_module
    pytest.param(
        'import mil_seg.gml.loss\n'
        'from mmengine.utils import import_modules_from_strings\n'
        "import_modules_from_strings(['mil_seg'])",
        marks=pytest.mark.skipif(
            sys.version_info < (3, 11),
            reason='importlib.import_module reads no spec before 3.11')),
    'import mil_seg.gml\nfrom mil_seg.seg.models import GMLHead',
    'import mil_seg.gml\nmil_seg.STACK',
    # a launcher's config: its mil_seg:: and mmseg:: bases need the layer
    pytest.param(
        'import argparse\nfrom mil_seg.launch import load_config\n'
        f'load_config(argparse.Namespace(config={USER_CONFIG!r}, '
        "local_rank=0, cfg_options=None, launcher='none', work_dir=None))",
        id='launch.load_config'),
])
def test_the_whole_package_registers_and_patches_once(code):
    report = run_python(code)
    assert report['REGISTERED'] == 'True True True'
    shims = eval(report['SHIMS'])
    assert shims, 'this environment needs shims (mmcv-lite, no CUDA)'
    # each applied shim announced once: the layer was applied once
    assert len(report['announced']) == len(shims)


def test_the_core_imports_torch_numpy_and_mmengine_only():
    allowed = ('torch', 'numpy', 'mmengine')
    for name in sorted(f for f in os.listdir(GML_DIR)
                       if f.endswith('.py')):
        with open(osp.join(GML_DIR, name)) as file:
            tree = ast.parse(file.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                roots = [node.module]
            else:
                continue
            for root in roots:
                top = root.split('.')[0]
                assert top in allowed or top in sys.stdlib_module_names, (
                    f'mil_seg/gml/{name} imports {root}')


def test_no_name_means_two_different_things():
    """mmengine resolves a type in the current default scope first, so a
    name registered with different classes in the two toolboxes would build
    the wrong one after the scope switched (e.g. tests or notebooks that use
    both)."""
    from mmpretrain.registry import MODELS as CLS_MODELS
    from mmseg.registry import MODELS as SEG_MODELS
    ours = {
        name: cls
        for name, cls in SEG_MODELS.module_dict.items()
        if cls.__module__.startswith('mil_seg.')
    }
    for name, cls in CLS_MODELS.module_dict.items():
        if cls.__module__.startswith('mil_seg.') and name in ours:
            assert ours[name] is cls, name


def test_core_is_the_same_class_in_both_toolboxes():
    from mmpretrain.registry import MODELS as CLS_MODELS
    from mmseg.registry import MODELS as SEG_MODELS
    assert SEG_MODELS.get('GMLLoss') is CLS_MODELS.get('GMLLoss')
    assert SEG_MODELS.get('ClassPrior') is CLS_MODELS.get('ClassPrior')
