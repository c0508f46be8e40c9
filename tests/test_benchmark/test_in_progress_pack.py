"""``results/in-progress/pack.py``: which finished runs travel, which files.

The archive is how a benchmark longer than a session survives a change of
machine, so a run packed without the checkpoint a later run reads would make
that later run fail after unpacking; these cases pin that rule on a run tree
laid out like the benchmark's.
"""
import importlib.util
import os
import os.path as osp
import sys
import tarfile
from pathlib import Path
from typing import Set

import pytest

PACK = Path(__file__).resolve().parents[2] / 'results' / 'in-progress' / \
    'pack.py'


@pytest.fixture(scope='module')
def pack():
    spec = importlib.util.spec_from_file_location('in_progress_pack', PACK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(work: Path, rel: str, done: bool = True) -> Path:
    """A run directory as the benchmark leaves it: own files, a checkpoint,
    mmengine's timestamped log folder; ``result.json`` only when finished."""
    run = work / rel
    logs = run / '20261207_120000'
    (logs / 'vis_data').mkdir(parents=True)
    for name in ('config.py', 'state.json', 'train.out', 'iter_400.pth',
                 'last_checkpoint'):
        (run / name).write_text(name)
    (logs / '20261207_120000.log').write_text('log')
    (logs / 'vis_data' / 'scalars.json').write_text('{}')
    (logs / 'vis_data' / 'config.py').write_text('cfg')
    if done:
        (run / 'result.json').write_text('{}')
    return run


def _packed_runs(archive: Path, work: Path) -> Set[str]:
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    root = str(work).lstrip('/') + '/'
    assert all(n.startswith(root) for n in names), names
    return {osp.dirname(n[len(root):]) for n in names
            if n.endswith('/result.json')}


def test_checkpoint_a_later_run_reads_keeps_its_run_out(
        pack, tmp_path, monkeypatch, capsys):
    work = tmp_path / 'work'
    _run(work, 'ce/seed0')
    _run(work, 'ce/seed1', done=False)
    # post-hoc evaluation reads GML's checkpoint: unfinished on seed 0
    _run(work, 'gml/seed0')
    _run(work, 'gml/seed1')
    _run(work, 'gml-posthoc/seed1')
    # a teacher whose student has not finished
    _run(work, 'gml-2stage/seed0/gml-teacher')
    _run(work, 'gml-2stage/seed1/gml-teacher')
    _run(work, 'gml-2stage/seed1/gml-student')
    # tuning: every post-hoc trial reads the GML trials
    _run(work, 'tuning/gml/0.5')
    _run(work, 'tuning/gml-posthoc/0', done=False)
    _run(work, 'tuning/lace/0.5')
    archive = tmp_path / 'runs.tar.gz'
    monkeypatch.setattr(sys, 'argv', ['pack.py', str(work), str(archive)])
    pack.main()

    assert _packed_runs(archive, work) == {
        'ce/seed0', 'gml/seed1', 'gml-posthoc/seed1',
        'gml-2stage/seed1/gml-teacher', 'gml-2stage/seed1/gml-student',
        'tuning/lace/0.5'
    }
    assert '6 finished runs of 9 (3 left out' in capsys.readouterr().out


def test_tuning_trials_travel_once_the_readers_tuning_ended(
        pack, tmp_path, monkeypatch):
    """Every post-hoc trial finished is not enough: a choice at the edge
    of its grid adds one that reads GML's trial; its first seed run says
    its tuning has ended."""
    work = tmp_path / 'work'
    _run(work, 'tuning/gml/0.5')
    _run(work, 'tuning/gml-posthoc/0')
    _run(work, 'tuning/gml-posthoc/-0.5')
    archive = tmp_path / 'runs.tar.gz'
    monkeypatch.setattr(sys, 'argv', ['pack.py', str(work), str(archive)])
    pack.main()
    assert _packed_runs(archive, work) == {
        'tuning/gml-posthoc/0', 'tuning/gml-posthoc/-0.5'
    }
    _run(work, 'gml/seed0')
    _run(work, 'gml-posthoc/seed0')
    pack.main()
    assert _packed_runs(archive, work) == {
        'tuning/gml/0.5', 'tuning/gml-posthoc/0', 'tuning/gml-posthoc/-0.5',
        'gml/seed0', 'gml-posthoc/seed0'
    }


def test_a_run_travels_without_checkpoints_or_repeated_logs(
        pack, tmp_path, monkeypatch):
    work = tmp_path / 'work'
    _run(work, 'ce/seed0')
    archive = tmp_path / 'runs.tar.gz'
    monkeypatch.setattr(sys, 'argv', ['pack.py', str(work), str(archive)])
    pack.main()
    with tarfile.open(archive) as tar:
        names = {osp.relpath('/' + n, work / 'ce' / 'seed0')
                 for n in tar.getnames()}
    assert names == {
        'config.py', 'state.json', 'train.out', 'result.json',
        os.path.join('20261207_120000', 'vis_data', 'scalars.json')
    }


def test_the_plan_travels_with_the_runs(pack, tmp_path, monkeypatch):
    """``status`` counts the runs not prepared yet from the work dir's
    plan: a continued benchmark keeps that count."""
    work = tmp_path / 'work'
    _run(work, 'ce/seed0')
    (work / 'plan.json').write_text('{"runs": []}')
    archive = tmp_path / 'runs.tar.gz'
    monkeypatch.setattr(sys, 'argv', ['pack.py', str(work), str(archive)])
    pack.main()
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert str(work / 'plan.json').lstrip('/') in names
