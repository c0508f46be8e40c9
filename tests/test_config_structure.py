"""Every config builds the model recorded in tests/data/model_structure.json.

The file holds, for every config under configs/ (``_base_`` excluded), the
structure of the model that its ``model`` dict builds, one line per config:
for each top-level submodule (``backbone``, ``decode_head``, ``head``,
``teacher``...; ``.`` for the model's own tensors) its class, the number of
parameters, buffers and elements, and a hash of every submodule's name and
class and every parameter's and buffer's name, shape (and ``requires_grad``).
A loss that becomes another changes a class (and so a hash) even when it has
no tensors. Values (weights, a loss's gamma, a prior's counts) are not
recorded: test_configs.py checks the settings that matter.

A refactor of the configs leaves every model as it was: this test fails on
any config whose model changed, and when a config is added or deleted. When
a model change is intended, regenerate the file with the change and commit
both (then ``git diff tests/data/model_structure.json`` shows which configs
and which parts changed)::

    MIL_SEG_UPDATE_MODEL_STRUCTURE=1 python -m pytest -n 0 \\
        tests/test_config_structure.py

Building never loads weights (``init_weights`` is not called), so configs
that name ImageNet-pretrained weights or a stage-1 checkpoint build without
them; the build is done with network connections refused, so a config that
would download at build time fails here.
"""
import contextlib
import functools
import glob
import hashlib
import json
import os
import os.path as osp
import socket
from unittest import mock

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mil_seg  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_ROOT = osp.join(ROOT, 'configs')
SNAPSHOT = osp.join(ROOT, 'tests', 'data', 'model_structure.json')
UPDATE_ENV = 'MIL_SEG_UPDATE_MODEL_STRUCTURE'
REGENERATE = (f'if the change is intended: {UPDATE_ENV}=1 python -m pytest '
              f'-n 0 tests/test_config_structure.py (module docstring)')


def config_names() -> list:
    """Every config under configs/ but ``_base_``, relative to configs/."""
    paths = glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True)
    return sorted(
        osp.relpath(path, CONFIG_ROOT) for path in paths
        if '_base_' not in osp.relpath(path, CONFIG_ROOT).split(osp.sep))


@contextlib.contextmanager
def network_refused():
    """Building a model must not download anything."""

    def refuse(*args, **kwargs):
        raise AssertionError('building a config\'s model tried to reach '
                             f'the network: {args}')

    with mock.patch.object(socket, 'getaddrinfo', refuse), \
            mock.patch.object(socket.socket, 'connect', refuse):
        yield


def build_model(name: str):
    """The model of ``configs/<name>``, built from the registry of its
    ``default_scope`` (mmseg or mmpretrain)."""
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, name))
    scope = cfg.get('default_scope', 'mmseg')
    if scope == 'mmpretrain':
        from mmpretrain.registry import MODELS
    else:
        from mmseg.registry import MODELS
    # As the runner builds it: from the ConfigDict (mmseg's EncoderDecoder
    # sets ``backbone.pretrained`` as an attribute).
    with DefaultScope.overwrite_default_scope(scope), network_refused():
        return MODELS.build(cfg.model)


def _digest(entries: list) -> str:
    text = json.dumps(sorted(entries), separators=(',', ':'))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=None)
def model_structure(name: str) -> dict:
    """``{'model': class, 'parts': {part: [class, parameters, buffers,
    elements, hash]}}`` of the model that ``configs/<name>`` builds."""
    model = build_model(name)
    parts = {}

    def part(qualified: str) -> dict:
        key = qualified.split('.', 1)[0] if '.' in qualified else '.'
        return parts.setdefault(
            key, dict(entries=[], parameters=0, buffers=0, elements=0))

    for qualified, module in model.named_modules():
        if qualified:
            part(qualified + '.')['entries'].append(
                ['module', qualified, type(module).__name__])
    for qualified, param in model.named_parameters():
        record = part(qualified)
        record['entries'].append(
            ['parameter', qualified, list(param.shape), param.requires_grad])
        record['parameters'] += 1
        record['elements'] += param.numel()
    for qualified, buffer in model.named_buffers():
        record = part(qualified)
        record['entries'].append(['buffer', qualified, list(buffer.shape)])
        record['buffers'] += 1
        record['elements'] += buffer.numel()
    children = dict(model.named_children())
    return dict(
        model=type(model).__name__,
        parts={
            key: [
                type(children[key]).__name__ if key in children else
                type(model).__name__, record['parameters'], record['buffers'],
                record['elements'],
                _digest(record['entries'])
            ]
            for key, record in sorted(parts.items())
        })


def write_snapshot(path: str = SNAPSHOT) -> None:
    """Record every config's model structure (one line per config)."""
    lines = [
        f'  {json.dumps(name)}: '
        f'{json.dumps(model_structure(name), separators=(",", ":"))}'
        for name in config_names()
    ]
    os.makedirs(osp.dirname(path), exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write('{\n' + ',\n'.join(lines) + '\n}\n')
    os.replace(tmp, path)


@pytest.fixture(scope='module')
def snapshot() -> dict:
    if os.environ.get(UPDATE_ENV):
        if os.environ.get('PYTEST_XDIST_WORKER'):
            pytest.fail(f'{UPDATE_ENV}: regenerate in one process (-n 0)')
        write_snapshot()
    with open(SNAPSHOT) as f:
        return json.load(f)


def describe_difference(recorded: dict, built: dict) -> str:
    """What changed, part by part, for a maintainer to read."""
    lines = []
    if recorded['model'] != built['model']:
        lines.append(f'model: {recorded["model"]} -> {built["model"]}')
    fields = ('class', 'parameters', 'buffers', 'elements', 'hash')
    for key in sorted(set(recorded['parts']) | set(built['parts'])):
        old, new = recorded['parts'].get(key), built['parts'].get(key)
        if old == new:
            continue
        if old is None or new is None:
            lines.append(f'{key}: {"added" if old is None else "removed"} '
                         f'({old or new})')
            continue
        changed = [
            f'{field} {a} -> {b}' for field, a, b in zip(fields, old, new)
            if a != b
        ]
        if changed == [f'hash {old[-1]} -> {new[-1]}']:
            changed.insert(0, 'same class and sizes; a submodule class, '
                           'a name, a shape or requires_grad differs')
        lines.append(f'{key} ({new[0]}): ' + '; '.join(changed))
    return '\n'.join(lines)


def test_snapshot_lists_every_config(snapshot):
    """A config added or deleted shows here (and in the file's diff)."""
    found, recorded = set(config_names()), set(snapshot)
    assert found == recorded, (
        f'configs not in the snapshot: {sorted(found - recorded)}; '
        f'in the snapshot but gone: {sorted(recorded - found)}; {REGENERATE}')


@pytest.mark.parametrize('name', config_names())
def test_config_builds_the_recorded_model(name, snapshot):
    if name not in snapshot:
        pytest.fail(f'{name} is not in {SNAPSHOT}; {REGENERATE}')
    built = model_structure(name)
    if built != snapshot[name]:
        pytest.fail(
            f'configs/{name} builds another model than the recorded one:\n'
            f'{describe_difference(snapshot[name], built)}\n{REGENERATE}',
            pytrace=False)
