"""Fixtures shared across the suite: generated data, the trained runs that
several test files check (trained once per session), and the scheduling of
``pytest-xdist`` (``-n auto --dist loadgroup`` in pytest.ini).

Tests that share a session fixture which trains something carry the same
``xdist_group`` mark, so one worker trains it once; those groups are
collected first, longest first, so that no long run starts last.

xdist's own ``loadgroup`` renames the marked items' node ids, which pytest
9.2 no longer allows (``Item.nodeid`` is read-only there), so every test
would be its own unit: here each worker writes the groups of its
collection to a file of the run and the scheduler below reads them.
"""
import json
import os
import os.path as osp
import pickle
import tempfile
import uuid
from typing import NamedTuple

import numpy as np
import pytest

from .slurm_cluster import SlurmCluster, missing_requirements
from .tool_runner import (CLS_EMA, CLS_STUDENT, CLS_TEACHER, DEMO_GML, ROOT,
                          cls_options, cls_run_options, resume_runs,
                          run_command, small_seg_options, train_ok,
                          write_image_folders)

# xdist groups of expensive shared work, longest first (rough single-core
# seconds on a 2-core CPU box): scheduled before everything else.
GROUP_ORDER = (
    # a Slurm cluster, 2-task training, a reference benchmark (7 runs), the
    # same killed 3 times and rerun, 4 + 1 benchmark jobs
    'slurm',
    'cls_student_runs',  # 6 tool runs
    'cls_ema_runs',  # 5 tool runs + test.py
    'seg_runs',  # 5 tool runs + test.py
    'two_stage_runs',  # 5 tool runs
    'wheel',  # a wheel built and installed, 3 tool runs
    'posthoc_sweep',  # 5 tool runs
    'cls_dist_train',  # 2-process dist_train.sh
    'seg_dist_train',  # 2-process dist_train.sh
    'ade20k_run',  # 2 tool runs of a bigger model
    'dist_queue',  # 2 worker processes
)


def _groups_file(testrunuid: str) -> str:
    return osp.join(tempfile.gettempdir(),
                    f'mil_seg-xdist-groups-{testrunuid}.json')


def _distributing(config) -> bool:
    return config.getoption('dist', 'no') == 'loadgroup' and bool(
        config.getoption('numprocesses', None))


def pytest_configure(config):
    if hasattr(config, 'workerinput'):
        # Each xdist worker is one of ``-n`` processes sharing the CPU:
        # one intra-op thread each (the tool subprocesses get
        # OMP_NUM_THREADS=1 from tool_runner.tool_env).
        import torch
        torch.set_num_threads(1)
    elif _distributing(config) and not config.getoption('testrunuid', None):
        # Known to the controller before the workers start (they get it).
        config.option.testrunuid = uuid.uuid4().hex


def pytest_unconfigure(config):
    if not hasattr(config, 'workerinput') and _distributing(config):
        try:  # left when nothing was scheduled (--collect-only, errors)
            os.remove(_groups_file(config.getoption('testrunuid')))
        except (FileNotFoundError, TypeError):
            pass


def _group(item):
    marker = item.get_closest_marker('xdist_group')
    if marker is None:
        return None
    return str(marker.args[0] if marker.args else marker.kwargs['name'])


def pytest_collection_modifyitems(config, items):
    """Expensive groups first, in GROUP_ORDER; the rest keep their order
    (the same sort on every worker, as xdist requires). A worker also
    writes the groups for the scheduler."""
    rank = {name: i for i, name in enumerate(GROUP_ORDER)}
    items.sort(key=lambda item: rank.get(_group(item), len(rank)))
    workerinput = getattr(config, 'workerinput', None)
    if workerinput is not None and config.option.loadgroup:
        groups = {item.nodeid: _group(item) for item in items if _group(item)}
        path = _groups_file(workerinput['testrunuid'])
        partial = f'{path}.{workerinput["workerid"]}'
        with open(partial, 'w', encoding='utf-8') as f:
            json.dump(groups, f)
        os.replace(partial, path)  # every worker writes the same groups


def pytest_xdist_make_scheduler(config, log):
    """``--dist loadgroup``: one unit of work per ``xdist_group`` (tests
    without a group are units of their own), in collection order."""
    if not _distributing(config):
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        _groups = None

        def _split_scope(self, nodeid):
            if self._groups is None:
                path = _groups_file(config.getoption('testrunuid'))
                with open(path, encoding='utf-8') as f:
                    self._groups = json.load(f)
                os.remove(path)
            if nodeid in self._groups:
                return self._groups[nodeid]
            # pytest < 9.2: xdist itself appended '@<group>' to the id
            return nodeid.rsplit('@', 1)[-1] if '@' in nodeid else nodeid

    return GroupScheduling(config, log)


# ------------------------------------------------------------- data makers
def write_fake_cifar(root: str, num_classes: int, train_per_class,
                     test_per_class: int = 2, seed: int = 0) -> str:
    """Write tiny CIFAR python batches (random images) under ``root``.

    Args:
        root (str): Folder that gets ``cifar-10-batches-py`` or
            ``cifar-100-python``.
        num_classes (int): 10 or 100.
        train_per_class (int | list[int]): Training images per class.
        test_per_class (int): Test images per class.
        seed (int): Seed of the random pixels.

    Returns:
        str: ``root``.
    """
    rng = np.random.RandomState(seed)
    if isinstance(train_per_class, int):
        train_per_class = [train_per_class] * num_classes

    def batch(per_class):
        labels = np.concatenate(
            [np.full(n, c) for c, n in enumerate(per_class)]).tolist()
        data = rng.randint(0, 256, (len(labels), 3072), dtype=np.uint8)
        return data, labels

    if num_classes == 10:
        folder = osp.join(root, 'cifar-10-batches-py')
        names = [f'data_batch_{i}' for i in range(1, 6)]
        key, meta = 'labels', ('batches.meta', 'label_names')
    else:
        folder = osp.join(root, 'cifar-100-python')
        names = ['train']
        key, meta = 'fine_labels', ('meta', 'fine_label_names')
    os.makedirs(folder, exist_ok=True)
    data, labels = batch(train_per_class)
    # Spread the training images over the batch files.
    for i, name in enumerate(names):
        part = slice(i, None, len(names))
        with open(osp.join(folder, name), 'wb') as f:
            pickle.dump({'data': data[part], key: labels[part]}, f)
    test_name = 'test_batch' if num_classes == 10 else 'test'
    data, labels = batch([test_per_class] * num_classes)
    with open(osp.join(folder, test_name), 'wb') as f:
        pickle.dump({'data': data, key: labels}, f)
    with open(osp.join(folder, meta[0]), 'wb') as f:
        pickle.dump({meta[1]: [f'c{i}' for i in range(num_classes)]}, f)
    return root


def write_image_folder(root: str, classes, per_class, size: int = 32,
                       seed: int = 0) -> str:
    """Write ``root/<class>/<i>.jpg`` random images.

    Args:
        root (str): Output folder.
        classes (list[str]): Class folder names.
        per_class (int | list[int]): Images per class.
        size (int): Image side. Defaults to 32.
        seed (int): Seed. Defaults to 0.

    Returns:
        str: ``root``.
    """
    import mmcv
    rng = np.random.RandomState(seed)
    if isinstance(per_class, int):
        per_class = [per_class] * len(classes)
    for name, n in zip(classes, per_class):
        os.makedirs(osp.join(root, name), exist_ok=True)
        for i in range(n):
            img = rng.randint(0, 256, (size, size, 3), dtype=np.uint8)
            mmcv.imwrite(img, osp.join(root, name, f'{i:04d}.jpg'))
    return root


@pytest.fixture(scope='session')
def make_cifar():
    """The :func:`write_fake_cifar` helper (tests cannot import conftest)."""
    return write_fake_cifar


@pytest.fixture(scope='session')
def make_image_folder():
    """The :func:`write_image_folder` helper."""
    return write_image_folder


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory) -> str:
    """Generated long-tailed segmentation data: 8 train, 2 val, 32 x 32."""
    from mil_seg.seg.datasets import generate_synthetic_lt_dataset
    root = str(tmp_path_factory.mktemp('synthetic_lt'))
    generate_synthetic_lt_dataset(
        root, num_train=8, num_val=2, image_size=(32, 32), seed=0)
    return root


@pytest.fixture(scope='session')
def cls_folders(tmp_path_factory) -> str:
    """CIFAR-10 style image folders (tool_runner.write_image_folders)."""
    return write_image_folders(str(tmp_path_factory.mktemp('cifar10_lt')))


class InstalledWheel(NamedTuple):
    """The package's wheel and the folder ``pip install --target`` put it
    in."""

    wheel: str
    site: str


@pytest.fixture(scope='session')
def installed_wheel(tmp_path_factory) -> InstalledWheel:
    """The package as a wheel built from a copy of the repository's sources
    (pip builds in the tree it is given; no build isolation: offline),
    installed with ``pip install --target`` into its own folder, once per
    session. Users carry ``xdist_group('wheel')``."""
    import shutil
    import sys
    out = tmp_path_factory.mktemp('wheel')
    source = out / 'source'
    shutil.copytree(
        ROOT, source, symlinks=True,
        ignore=shutil.ignore_patterns('.git', '.venv*', 'build', 'dist',
                                      'work_dirs', '*.egg-info', '.mim',
                                      '__pycache__', '.pytest_cache',
                                      'results', 'data'))
    built = run_command([
        sys.executable, '-m', 'pip', 'wheel', '--no-deps',
        '--no-build-isolation', '-q', '-w', str(out), str(source)
    ], timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel, ) = out.glob('mil_seg-*.whl')
    site = out / 'site'
    installed = run_command([
        sys.executable, '-m', 'pip', 'install', '--no-deps', '-q',
        '--target', str(site), str(wheel)
    ], timeout=600)
    assert installed.returncode == 0, installed.stderr[-3000:]
    return InstalledWheel(str(wheel), str(site))


# ------------------------------------------------- trained runs (shared)
@pytest.fixture(scope='session')
def seg_runs(synthetic_root, tmp_path_factory):
    """The segmentation demo through tools/train.py: 4 iterations at once,
    and 2 + 2 resumed with and without the random-state hook
    (tool_runner.resume_runs). Used by tests/test_tools (train, test,
    resume) and tests/test_reliability (exact resume): mark the users
    ``xdist_group('seg_runs')``."""
    return resume_runs(
        tmp_path_factory.mktemp('seg_runs'), DEMO_GML,
        lambda iters, *extra: small_seg_options(synthetic_root, iters, *
                                                extra), 4, 'iter')


@pytest.fixture(scope='session')
def cls_ema_runs(cls_folders, tmp_path_factory):
    """The single-stage (EMA key encoder) CIFAR-10-LT config through
    tools/train.py: 2 epochs at once, and 1 + 1 resumed with and without
    the random-state hook. Users: ``xdist_group('cls_ema_runs')``."""
    return resume_runs(
        tmp_path_factory.mktemp('cls_ema_runs'), CLS_EMA,
        cls_run_options(cls_folders), 2, 'epoch')


@pytest.fixture(scope='session')
def cls_student_runs(cls_folders, tmp_path_factory):
    """Stage 1 (a depth-20 teacher) trained for one epoch, then the
    stage-2 student with that checkpoint as its frozen key encoder, 2
    epochs at once and resumed. Users: ``xdist_group('cls_student_runs')``.
    """
    root = tmp_path_factory.mktemp('cls_student_runs')
    train_ok(CLS_TEACHER, root / 'stage1',
             cls_options(cls_folders, 1, 'model.backbone.depth=20'))
    teacher = str(root / 'stage1' / 'epoch_1.pth')
    return resume_runs(
        root, CLS_STUDENT,
        cls_run_options(cls_folders, 'model.teacher.backbone.depth=20',
                        f'model.teacher.checkpoint={teacher}'), 2, 'epoch')


# ----------------------------------------------------------------- Slurm
@pytest.fixture(scope='session')
def slurm_cluster(tmp_path_factory):
    """A real single-node Slurm cluster on localhost (tests/slurm_cluster.py)
    for the session; its users carry ``xdist_group('slurm')``.

    Skipped, with the reason, where Slurm is not installed or not startable
    (not root); ``MIL_SEG_REQUIRE_SLURM=1`` (set by ``.ci/run``, which
    installs Slurm) makes that a failure instead.
    """
    required = os.environ.get('MIL_SEG_REQUIRE_SLURM') == '1'
    reason = missing_requirements()
    if reason:
        if required:
            pytest.fail(f'MIL_SEG_REQUIRE_SLURM=1 but {reason}')
        pytest.skip(reason)
    cluster = SlurmCluster(str(tmp_path_factory.mktemp('slurm')))
    try:
        cluster.start()
    except RuntimeError as error:
        cluster.stop()
        if required:
            raise
        pytest.skip(f'the test Slurm cluster did not start: {error}')
    yield cluster
    cluster.stop()
