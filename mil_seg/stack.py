"""Which OpenMMLab stack this environment holds, checked at import.

mil_seg runs on two stacks that install the same import names
(``mmengine``, ``mmcv``, ``mmseg``, ``mmpretrain``) under different
distribution names: upstream OpenMMLab (no longer released) and the
maintained ``onedl-*`` fork. The package declares neither as an install
requirement, so installing it never replaces or duplicates a user's
toolbox (``pip install mil_seg[upstream]`` or ``mil_seg[onedl]`` adds one
where there is none). Instead, ``import mil_seg`` checks the environment:
each toolbox installed by exactly one distribution, all of one stack, each
in the stack's supported range. Anything else ends the import with one
:class:`IncompatibleStackError` naming the distributions and the command
that fixes it. Set ``MIL_SEG_SKIP_STACK_CHECK=1`` to skip the check.
"""
import importlib.metadata
import os
import re
from typing import Dict, List, NamedTuple, Optional, Tuple

from .compat.config_packages import installed_distributions
from .errors import UserError

#: The toolboxes, by import name, in the order they are checked.
TOOLBOXES = ('mmengine', 'mmcv', 'mmseg', 'mmpretrain')


class Requirement(NamedTuple):
    """One toolbox of a stack: its distributions and supported versions."""
    distributions: Tuple[str, ...]
    minimum: Tuple[int, ...]
    below: Tuple[int, ...]

    def spec(self) -> str:
        return (f'>={".".join(map(str, self.minimum))},'
                f'<{".".join(map(str, self.below))}')


#: Per stack, per toolbox: the distributions that provide it and the range
#: the package is tested with.
STACKS: Dict[str, Dict[str, Requirement]] = {
    'upstream': {
        'mmengine': Requirement(('mmengine', ), (0, 10, 7), (0, 11)),
        # mmcv-lite (no compiled ops) or a full mmcv build
        'mmcv': Requirement(('mmcv', 'mmcv-lite'), (2, 1, 0), (2, 2)),
        'mmseg': Requirement(('mmsegmentation', ), (1, 2, 2), (1, 3)),
        'mmpretrain': Requirement(('mmpretrain', ), (1, 2, 0), (1, 3)),
    },
    'onedl': {
        'mmengine': Requirement(('onedl-mmengine', ), (0, 10, 12), (0, 11)),
        'mmcv': Requirement(('onedl-mmcv', ), (2, 3, 6), (2, 4)),
        'mmseg': Requirement(('onedl-mmsegmentation', ), (1, 4, 2), (1, 5)),
        'mmpretrain': Requirement(('onedl-mmpretrain', ), (1, 3, 6), (1, 4)),
    },
}


class IncompatibleStackError(UserError, ImportError):
    """The environment's OpenMMLab toolboxes cannot run mil_seg: one is
    installed twice (upstream and fork), the stacks are mixed, or a version
    is outside the supported range. Also an ``ImportError``: it ends
    ``import mil_seg``."""


class Installed(NamedTuple):
    """A distribution that provides a toolbox."""
    name: str
    version: str
    stack: Optional[str]


def _normalise(name: str) -> str:
    return re.sub(r'[-_.]+', '-', name).lower()


def _version_tuple(version: str) -> Tuple[int, ...]:
    numbers = []
    for part in version.split('.'):
        match = re.match(r'\d+', part)
        if match is None:
            break
        numbers.append(int(match.group()))
        if match.group() != part:
            break  # 2.1.0rc1, 1.4.2+cu121: the numeric release only
    return tuple(numbers)


def _stack_of(distribution: str, toolbox: str) -> Optional[str]:
    for stack, requirements in STACKS.items():
        if distribution in requirements[toolbox].distributions:
            return stack
    return None


def installed_toolboxes() -> Dict[str, List[Installed]]:
    """The distributions installed for each toolbox (by import name).

    Returns:
        dict: Import name -> the distributions whose files hold that
        top-level package (several where two write the same package; none
        where it is missing or installed without metadata).
    """
    providers = installed_distributions()
    found = {}
    for toolbox in TOOLBOXES:
        names = sorted({_normalise(name) for name in providers.get(
            toolbox, [])})
        found[toolbox] = [
            Installed(name, importlib.metadata.version(name),
                      _stack_of(name, toolbox)) for name in names
        ]
    return found


def _supported() -> str:
    return '; '.join(
        f'{stack}: ' + ', '.join(
            f'{"/".join(req.distributions)} {req.spec()}'
            for req in requirements.values())
        for stack, requirements in STACKS.items())


def _install_command(stack: str, toolboxes) -> str:
    requirements = STACKS[stack]
    return 'pip install ' + ' '.join(
        f"'{requirements[t].distributions[0]}{requirements[t].spec()}'"
        for t in toolboxes)


def check_stack(found: Optional[Dict[str, List[Installed]]] = None) -> str:
    """Check that the toolboxes form one supported stack.

    Args:
        found (dict, optional): :func:`installed_toolboxes`' answer; read
            from the environment when None. Defaults to None.

    Returns:
        str: ``'upstream'`` or ``'onedl'``; ``'unknown'`` where no toolbox
        has distribution metadata (e.g. imported from a source tree).

    Raises:
        IncompatibleStackError: If a toolbox is installed by two
            distributions, by one of neither stack, the stacks are mixed, or
            a version is outside its stack's range.
    """
    found = installed_toolboxes() if found is None else found
    for toolbox, dists in found.items():
        if len(dists) > 1:
            names = ' and '.join(f'{d.name} {d.version}' for d in dists)
            keep = next((d for d in dists if d.stack == 'onedl'), dists[0])
            raise IncompatibleStackError(
                f'{toolbox} is installed by {len(dists)} distributions, '
                f'{names}, which write the same package: keep one stack. '
                'Uninstalling one deletes files of the other, so remove both '
                'and reinstall the one you keep, e.g. `pip uninstall -y '
                f'{" ".join(d.name for d in dists)} && pip install '
                f"'{keep.name}=={keep.version}'`")
    unknown = [(t, d[0]) for t, d in found.items() if d and d[0].stack is None]
    if unknown:
        toolbox, dist = unknown[0]
        raise IncompatibleStackError(
            f'{toolbox} is installed by {dist.name} {dist.version}, which is '
            f'not a distribution mil_seg supports ({_supported()})')
    stacks = {d[0].stack for d in found.values() if d}
    if not stacks:
        return 'unknown'
    if len(stacks) > 1:
        by_stack = {
            stack: [f'{d[0].name} {d[0].version}' for d in found.values()
                    if d and d[0].stack == stack]
            for stack in sorted(stacks)
        }
        # keep the stack of the segmentation toolbox
        keep = found['mmseg'][0].stack if found['mmseg'] else 'onedl'
        other = [t for t, d in found.items() if d and d[0].stack != keep]
        raise IncompatibleStackError(
            'the environment mixes OpenMMLab stacks: ' + '; '.join(
                f'{stack}: {", ".join(names)}'
                for stack, names in by_stack.items()) +
            '. Never mix them in one environment: replace '
            f'{", ".join(found[t][0].name for t in other)}, e.g. `pip '
            f'uninstall -y {" ".join(found[t][0].name for t in other)} && '
            f'{_install_command(keep, other)}`')
    stack = stacks.pop()
    for toolbox, dists in found.items():
        if not dists:
            continue
        requirement = STACKS[stack][toolbox]
        version = _version_tuple(dists[0].version)
        if not requirement.minimum <= version < requirement.below:
            raise IncompatibleStackError(
                f'{dists[0].name} {dists[0].version} is outside the range '
                f'mil_seg supports on the {stack} stack '
                f'({requirement.spec()}; supported: {_supported()}): '
                f'`{_install_command(stack, [toolbox])}`')
    return stack


def check_stack_at_import() -> Optional[str]:
    """:func:`check_stack`, unless ``MIL_SEG_SKIP_STACK_CHECK=1``.

    Returns:
        str, optional: The stack, or None where the check is skipped.
    """
    if os.environ.get('MIL_SEG_SKIP_STACK_CHECK') == '1':
        return None
    return check_stack()
