"""Shim ``package_lookup``: setuptools >= 81 has no ``pkg_resources``.

mmengine uses ``pkg_resources`` to find installed packages for ``mmseg::``
and ``mmpretrain::`` base configs. Without it, mmengine's two lookup
functions are replaced by ``importlib.metadata`` equivalents. With
``pkg_resources`` present (the pinned ``setuptools<81``) only its
deprecation warning is silenced (:func:`silence_pkg_resources_warning`,
called by :func:`mil_seg.compat.apply` in every environment).
"""
import importlib.metadata
import importlib.util
import os.path as osp
import warnings

from .shim import Shim, rebind


def pkg_resources_available() -> bool:
    """Whether setuptools still provides ``pkg_resources``."""
    return importlib.util.find_spec('pkg_resources') is not None


def silence_pkg_resources_warning() -> None:
    """Ignore the deprecation warning of ``pkg_resources``.

    ``pkg_resources`` warns on each of mmengine's (re)imports of it.
    """
    warnings.filterwarnings(
        'ignore', message='pkg_resources is deprecated', category=UserWarning)


def _distribution_of(package: str):
    try:
        return importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def is_installed(package: str) -> bool:
    """``mmengine.utils.is_installed`` without ``pkg_resources``."""
    if _distribution_of(package) is not None:
        return True
    return importlib.util.find_spec(package) is not None


def get_installed_path(package: str) -> str:
    """``mmengine.utils.get_installed_path`` without ``pkg_resources``."""
    module_name = package
    dist = _distribution_of(package)
    if dist is not None:
        top_level = dist.read_text('top_level.txt')
        if top_level and top_level.split():
            module_name = top_level.split()[0]
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.origin is None:
        # An ImportError, as mmengine's: the launchers turn the failed
        # config import into one error line.
        raise ModuleNotFoundError(
            f'{package} is not installed; install it to use `{package}::` '
            'configs')
    return osp.dirname(spec.origin)


def _replace_package_lookup() -> None:
    modules = ('mmengine.utils.package_utils', 'mmengine.utils',
               'mmengine.config.config')
    rebind('is_installed', lambda _: is_installed, modules)
    rebind('get_installed_path', lambda _: get_installed_path, modules)


SHIM = Shim(
    name='package_lookup',
    description='no pkg_resources: mmengine package lookup uses '
    'importlib.metadata',
    needed=lambda: not pkg_resources_available(),
    install=_replace_package_lookup)
