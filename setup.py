"""Install mil_seg: ``pip install -e .[tests]`` (see README for the pinned stack)."""
from setuptools import find_packages, setup


def read_version() -> str:
    namespace: dict = {}
    with open('mil_seg/version.py', encoding='utf-8') as f:
        exec(f.read(), namespace)
    return namespace['__version__']


setup(
    name='mil_seg',
    version=read_version(),
    description='Long-tailed segmentation and classification by mutual-information '
    'maximisation (GML) for MMSegmentation and MMPretrain',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    package_data={'mil_seg': ['priors/*.json']},
    include_package_data=True,
    python_requires='>=3.9',
    install_requires=[
        'torch>=2.1,<2.15',
        'torchvision>=0.16,<0.30',
        'mmengine==0.10.7',
        # mmcv-lite or full mmcv 2.1.x: mmsegmentation 1.2.x accepts mmcv<2.2.
        # Neither is listed here so that a full mmcv build is never replaced
        # by a wheel; the README's install step installs one of them.
        'mmsegmentation==1.2.2',
        'mmpretrain==1.2.0',
        'ftfy',
        'regex',
        'numpy',
        'opencv-python',
        'tqdm',
        'matplotlib',
        'setuptools<81',
    ],
    extras_require={
        # pytest-xdist: pytest.ini runs the suite on every core
        # (-n auto; tests/conftest.py schedules its xdist groups).
        'tests': ['pytest>=7', 'pytest-xdist>=3.5'],
    },
    zip_safe=False,
)
