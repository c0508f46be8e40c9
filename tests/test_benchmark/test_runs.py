"""mil_seg.benchmark.runs: how a method expands into runs, the order an
executor runs them in, how the stages' costs combine, and the one child
environment (no training here)."""
import json
import os
import os.path as osp
import sys

import pytest

import mil_seg
from mil_seg.benchmark import runs
from mil_seg.errors import UserError


def test_a_two_stage_method_trains_its_stages_in_order(tmp_path):
    stages = runs.method_runs('gml-2stage', 0, 4, {}, False, str(tmp_path))
    teacher, student = stages
    assert [r.config_name for r in stages] == ['gml-teacher', 'gml-student']
    assert teacher.after is None and student.after == teacher.directory
    assert student.extra == {
        'model.teacher.checkpoint': osp.join(str(tmp_path), 'gml-teacher',
                                             'iter_4.pth')}
    (single, ) = runs.method_runs('gml', 0, 4, {'k': 1.0}, False, 'd')
    assert (single.config_name, single.directory, single.after) == (
        'gml', 'd', None)


def test_a_post_hoc_method_evaluates_the_other_methods_run():
    (run, ) = runs.method_runs('gml-posthoc', 1, 4, {'a': 0.5}, False,
                               'posthoc', evaluated='gml-run')
    assert run.evaluate_only and run.after == 'gml-run'
    assert run.config_name == 'gml' and run.values == {'a': 0.5}


def test_the_stages_costs_combine():
    teacher = dict(step_s=0.5, peak_mb=300.0, train_seconds=10.0,
                   metrics={'mIoU': 1.0})
    student = dict(step_s=0.25, peak_mb=400.0, train_seconds=6.0,
                   metrics={'mIoU': 2.0})
    result = runs.method_result([teacher, student])
    assert result['metrics'] == {'mIoU': 2.0}  # the student's
    assert result['step_s'] == 0.75 and result['peak_mb'] == 400.0
    assert result['train_seconds'] == 16.0
    assert runs.method_result([student]) == student


class RecordingExecutor(runs.Executor):
    """Executes nothing; records the batches it is given."""

    def __init__(self):
        self.batches = []

    def execute_ready(self, ready):
        self.batches.append([r.directory for r in ready])
        return [dict(directory=r.directory) for r in ready]


def test_an_executor_starts_a_run_after_the_run_it_needs():
    teacher, student = runs.method_runs('gml-2stage', 0, 2, {}, False, 'a')
    trained = runs.Run('gml', 0, 2, {}, False, 'g')
    (posthoc, ) = runs.method_runs('gml-posthoc', 0, 2, {}, False, 'p',
                                   evaluated='g')
    executor = RecordingExecutor()
    done = executor.run([posthoc, student, teacher, trained])
    assert executor.batches == [[teacher.directory, 'g'],
                                ['p', student.directory]]
    assert sorted(done) == sorted(['p', 'g', teacher.directory,
                                   student.directory])
    # a run whose dependency is finished elsewhere (read back) starts at once
    executor = RecordingExecutor()
    executor.run([posthoc])
    assert executor.batches == [['p']]
    # runs that wait on each other are refused
    a = runs.Run('ce', 0, 2, {}, False, 'a', after='b')
    b = runs.Run('ce', 0, 2, {}, False, 'b', after='a')
    with pytest.raises(UserError, match='runs wait on each other'):
        RecordingExecutor().run([a, b])


def test_a_failed_run_stops_only_the_runs_that_need_it(monkeypatch):
    """Every other run finishes, the local executor's queued ones too;
    then one error names each failure, the first with its log."""
    teacher, student = runs.method_runs('gml-2stage', 0, 2, {}, False, 'a')
    ce = runs.Run('ce', 0, 2, {}, False, 'c')
    gml = runs.Run('gml', 0, 2, {}, False, 'g')
    executed = []

    def execute(run, threads):
        executed.append(run.directory)
        if run in (teacher, gml):
            raise runs.RunFailed(f'error: [{run.name}] failed (1); its '
                                 f'log ends:\nthe tail of {run.directory}')
        return dict(directory=run.directory)

    monkeypatch.setattr(runs, 'execute', execute)
    executor = runs.LocalExecutor(jobs=1)
    with pytest.raises(runs.RunFailed) as ended:
        executor.run([teacher, student, gml, ce])
    assert executed == [teacher.directory, 'g', 'c']  # not the student
    message = str(ended.value.code).split('\n')
    assert message == [
        f'error: [{teacher.name}] failed (1); its log ends:',
        f'the tail of {teacher.directory}',
        'error: [gml seed 0] failed (1); its log ends:',
        f'error: [{student.name}] not run: it needs {teacher.directory}, '
        'which failed',
        '(3 of 4 runs failed, the others finished: fix it and run the same '
        'command again, finished runs are read back)']
    # one run alone fails with its own message
    with pytest.raises(runs.RunFailed) as ended:
        executor.run([gml])
    assert str(ended.value.code) == ('error: [gml seed 0] failed (1); its '
                                     'log ends:\nthe tail of g')
    assert isinstance(ended.value, SystemExit)  # alone, it ends the command
    # a chain behind a failed run, listed before its links: none runs, and
    # none is refused as waiting on another
    second = runs.Run('ce', 1, 2, {}, False, 's', after=gml.directory)
    third = runs.Run('ce', 2, 2, {}, False, 't', after='s')
    executed.clear()
    with pytest.raises(runs.RunFailed) as ended:
        executor.run([third, second, gml])
    assert executed == ['g']
    assert '(3 of 3 runs failed' in str(ended.value.code)


def test_every_child_imports_this_package_with_its_threads(tmp_path,
                                                           monkeypatch):
    monkeypatch.setenv('PYTHONPATH', 'elsewhere')
    monkeypatch.setenv('OMP_NUM_THREADS', '7')
    env = runs.child_env(2)
    package_parent = osp.dirname(osp.dirname(mil_seg.__file__))
    assert env['PYTHONPATH'].split(os.pathsep) == [package_parent,
                                                   'elsewhere']
    assert env['OMP_NUM_THREADS'] == env['MKL_NUM_THREADS'] == '2'
    assert runs.child_env(None)['OMP_NUM_THREADS'] == '7'
    log = tmp_path / 'out.log'
    ended = runs.run_process(
        [sys.executable, '-c', 'import mil_seg.benchmark, os, sys; '
         'print(mil_seg.__file__, os.environ["OMP_NUM_THREADS"]); '
         'sys.exit(3)'], str(log), threads=1, cwd=str(tmp_path))
    assert ended.code == 3 and ended.seconds > 0 and ended.peak_rss_mb > 0
    assert log.read_text().split()[-2:] == [mil_seg.__file__, '1']


def test_a_run_resumes_only_from_a_checkpoint_that_exists(tmp_path):
    """mmengine rewrites last_checkpoint in place after each checkpoint: a
    benchmark killed in between leaves it empty (train again, not fail).
    The file holds the path the run had: a run moved since resumes from
    its own copy, never from a checkpoint left at the old path."""
    directory = str(tmp_path / 'run')
    os.makedirs(directory)
    assert runs.last_checkpoint(directory) is None
    pointer = tmp_path / 'run' / 'last_checkpoint'
    pointer.write_text('')
    assert runs.last_checkpoint(directory) is None
    pointer.write_text(osp.join(directory, 'iter_2.pth'))
    assert runs.last_checkpoint(directory) is None
    (tmp_path / 'run' / 'iter_2.pth').write_bytes(b'checkpoint')
    assert runs.last_checkpoint(directory) == osp.join(directory,
                                                       'iter_2.pth')
    old = tmp_path / 'old'
    old.mkdir()
    (old / 'iter_3.pth').write_bytes(b'checkpoint at the old path')
    pointer.write_text(str(old / 'iter_3.pth'))
    assert runs.last_checkpoint(directory) is None
    (tmp_path / 'run' / 'iter_3.pth').write_bytes(b'checkpoint')
    assert runs.last_checkpoint(directory) == osp.join(directory,
                                                       'iter_3.pth')


def test_a_prepared_run_that_never_started_takes_new_settings(
        bench_data_config, tmp_path):
    """A benchmark stopped before a run started leaves its directory
    prepared; a config edited since is taken then, not refused. Once
    anything ran there (a log, a checkpoint, a job), other settings are
    refused and nothing is overwritten."""
    from mil_seg.benchmark.run_config import Settings
    settings = Settings(data_config=bench_data_config)
    directory = str(tmp_path / 'run')

    def prepared(iters):
        run = runs.Run('ce', 0, iters, {}, False, directory)
        assert runs.prepare(settings, run) is None
        return runs._read_json(osp.join(directory, 'state.json'))

    first = prepared(2)
    second = prepared(3)
    assert second['signature'] != first['signature']
    assert 'max_iters=3,' in open(osp.join(directory, 'config.py')).read()
    for trace in ('train.out', 'iter_1.pth', 'jobs.json'):
        open(osp.join(directory, trace), 'w').close()
        with pytest.raises(UserError, match='holds a run of other settings'
                           ) as refused:
            prepared(4)
        # the error shows what changed: the budget, as trained and as asked
        changed = str(refused.value).split('as asked now):\n')[1]
        assert changed.splitlines() == [
            '  param_scheduler.1.end: 3 -> 4', '  train_cfg.max_iters: 3 -> 4',
            '  train_cfg.val_interval: 3 -> 4']
        os.remove(osp.join(directory, trace))
    assert runs._read_json(osp.join(directory, 'state.json')) == second


def _log_windows(directory, times, memory=None):
    """mmengine's scalars.json with one logged window per time."""
    vis = directory / '20260101_000000' / 'vis_data'
    vis.mkdir(parents=True)
    lines = []
    for i, time in enumerate(times):
        row = {'iter': 50 * (i + 1), 'time': time, 'loss': 1.0}
        if memory is not None:
            row['memory'] = memory
        lines.append(json.dumps(row))
    lines.append(json.dumps({'mIoU': 40.0, 'step': 200}))  # no window
    (vis / 'scalars.json').write_text('\n'.join(lines) + '\n')


def test_the_step_time_is_the_median_window_after_the_warm_up(tmp_path):
    # warm-up 3.0 left out; the 12.5 window (the process stopped, or a
    # second job on the cores) would lift a mean to 2.9
    _log_windows(tmp_path, [3.0, 0.5, 0.5, 12.5, 0.5, 0.5], memory=321)
    assert runs.logged_scalars(str(tmp_path)) == (0.5, 321)
    assert runs.logged_scalars(str(tmp_path / 'none')) == (None, None)


def test_a_read_back_result_takes_the_step_time_of_its_logs(tmp_path):
    trained, evaluation = tmp_path / 'gml', tmp_path / 'posthoc'
    _log_windows(trained, [3.0, 0.25, 0.25, 9.0])
    stored = dict(step_s=2.0, peak_mb=100.0)  # a mean, as once stored
    run = runs.Run('gml', 0, 4, {}, False, str(trained))
    assert runs._read_back(run, dict(stored))['step_s'] == 0.25
    posthoc = runs.Run('gml-posthoc', 0, 4, {}, False, str(evaluation),
                       config_name='gml', after=str(trained),
                       evaluate_only=True)
    assert runs._read_back(posthoc, dict(stored)) == dict(
        step_s=0.25, peak_mb=100.0)
    # no logs (a result copied without them): the stored value stays
    alone = runs.Run('ce', 0, 4, {}, False, str(tmp_path / 'copied'))
    assert runs._read_back(alone, dict(stored)) == stored


def test_a_read_back_result_finds_its_per_image_sums_where_they_lie(
        tmp_path):
    """The sums lie beside the run's per_class.json; a result stored in a
    work directory moved since names the old path."""
    stored = dict(step_s=1.0, per_image_sums='/old/work/ce/seed0/sums.npz')
    run = runs.Run('ce', 0, 4, {}, False, str(tmp_path / 'ce' / 'seed0'))
    assert runs._read_back(run, stored)['per_image_sums'] == str(
        tmp_path / 'ce' / 'seed0' / 'sums.npz')


def test_a_work_dir_moved_whole_keeps_its_runs(bench_data_config,
                                               tmp_path):
    """The signature reads paths under the work dir as relative: a work
    dir moved whole reads its finished runs back; the same run in another
    work dir with other data does not match. A state signed by a version
    that read paths as they are is taken and re-signed where the run has
    not moved."""
    from mil_seg.benchmark.run_config import Settings

    def prepared(work_dir, settings=None):
        settings = settings or Settings(data_config=bench_data_config,
                                        work_dir=str(work_dir))
        run = runs.Run('ce', 0, 2, {}, False, str(work_dir / 'ce' / 'seed0'))
        result = runs.prepare(settings, run)
        return result, runs._read_json(
            osp.join(run.directory, 'state.json'))

    first = tmp_path / 'first'
    assert prepared(first)[0] is None
    (first / 'ce' / 'seed0' / 'train.out').write_text('started')
    moved = tmp_path / 'moved'
    os.rename(first, moved)
    # started, not finished: taken, its config at the new path
    assert prepared(moved)[0] is None
    config = (moved / 'ce' / 'seed0' / 'config.py').read_text()
    assert str(moved / 'ce' / 'seed0') in config and str(first) not in config
    runs.write_json(str(moved / 'ce' / 'seed0' / 'result.json'),
                    dict(step_s=1.0))
    finished = tmp_path / 'finished'
    os.rename(moved, finished)  # finished, then moved: read back
    moved = finished
    result, state = prepared(moved)
    assert result == dict(step_s=1.0)

    other_data = Settings(data_config=bench_data_config,
                          data_root=str(tmp_path / 'other-data'),
                          work_dir=str(moved))
    with pytest.raises(UserError, match='holds a run of other settings'
                       ) as refused:
        prepared(moved, other_data)
    # the data root changed; the moved paths are not shown as changes
    changed = str(refused.value).split('as asked now):\n')[1]
    assert 'other-data' in changed and 'per_class.json' not in changed

    # signed as an older version signed: the hash of the text as built
    from mil_seg.benchmark.run_config import build_run_config
    text = build_run_config(
        Settings(data_config=bench_data_config),
        runs.Run('ce', 0, 2, {}, False, str(moved / 'ce' / 'seed0'))
    ).pretty_text
    legacy = dict(state, signature=runs.signature(text))
    assert legacy['signature'] != state['signature']
    runs.write_json(str(moved / 'ce' / 'seed0' / 'state.json'), legacy)
    result, resigned = prepared(moved)
    assert result == dict(step_s=1.0) and resigned == state
