"""configs/_base_: every file in it is inherited by at least one config.

The ``_base_`` lists are read from the files themselves (mmengine's own
parser of that line), recursively from every config under configs/ but
``_base_``; bases of other packages (``mmseg::``, ``mmpretrain::``) are not
followed.
"""
import glob
import os.path as osp

from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_ROOT = osp.join(ROOT, 'configs')
BASE_ROOT = osp.join(CONFIG_ROOT, '_base_')


def local_bases(path: str) -> list:
    """The files of this repository that ``path`` names in ``_base_``."""
    return [
        osp.normpath(osp.join(osp.dirname(path), base))
        for base in Config._get_base_files(path) if '::' not in base
    ]


def inherited_files() -> set:
    """Every local file reached from the configs through ``_base_``."""
    configs = [
        path for path in glob.glob(
            osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True)
        if not path.startswith(BASE_ROOT + osp.sep)
    ]
    seen, todo = set(), list(configs)
    while todo:
        for base in local_bases(todo.pop()):
            assert osp.isfile(base), base
            if base not in seen:
                seen.add(base)
                todo.append(base)
    return seen


def test_every_base_file_is_inherited():
    base_files = {
        osp.normpath(path)
        for path in glob.glob(osp.join(BASE_ROOT, '**', '*.py'),
                              recursive=True)
    }
    assert base_files, BASE_ROOT
    unused = sorted(
        osp.relpath(path, CONFIG_ROOT)
        for path in base_files - inherited_files())
    assert not unused, (
        f'configs/_base_ files that no config inherits: {unused}; '
        'use them or delete them')


def test_the_loss_and_evaluator_bases_are_shared_by_every_dataset():
    """CamVid, CCP and ADE20K configs take their losses from the same
    files (others, the demo's, may too)."""
    users = {}
    for path in glob.glob(osp.join(CONFIG_ROOT, 'gml_seg', '*.py')):
        for base in local_bases(path):
            users.setdefault(osp.relpath(base, CONFIG_ROOT), set()).add(
                'camvid' if '_camvid-' in path else
                'ccp' if '_ccp-' in path else
                'ade20k' if '_ade20k-' in path else 'other')
    losses = sorted(name for name in users if name.startswith(
        osp.join('_base_', 'losses') + osp.sep))
    assert losses, users
    for name in losses:
        assert {'camvid', 'ccp', 'ade20k'} <= users[name], (name,
                                                             users[name])
