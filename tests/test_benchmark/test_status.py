"""mil_seg.benchmark.status: where a benchmark stands, read from the work
dir of a real (tiny) benchmark and from copies of one of its runs put in
each state a stopped benchmark leaves."""
import json
import shutil
import statistics
from pathlib import Path

import pytest

from mil_seg.benchmark import cli, status
from mil_seg.errors import UserError


def table_lines(text: str) -> dict:
    """The runs table's cells by run."""
    return {line.split(' | ')[0][2:]: line.split(' | ')[1:]
            for line in text.split('\n\n')[0].splitlines()[2:]}


@pytest.mark.xdist_group('slurm')  # shares reference_benchmark
def test_status_of_a_finished_benchmark_equals_its_runs_results(
        reference_benchmark):
    work_dir = Path(reference_benchmark.work_dir)
    text = status.report(str(work_dir))
    runs = table_lines(text)
    # two seeds of CE and of RFS, three held-out trials of RFS
    assert sorted(runs) == ['ce/seed0', 'ce/seed1', 'rfs/seed0', 'rfs/seed1',
                            'tuning/rfs/0.5', 'tuning/rfs/0.75',
                            'tuning/rfs/1']
    result = json.loads((work_dir / 'ce' / 'seed1' / 'result.json')
                        .read_text())
    assert runs['ce/seed1'][:3] == ['finished', '4/4',
                                    f"{result['metrics']['mIoU']:.2f}"]
    assert '7 runs: 7 finished.' in text
    assert 'Left:' not in text
    means = {line.split(' | ')[1]: line for line in text.splitlines()
             if line.startswith('| val | ')}
    ce = [json.loads((work_dir / 'ce' / f'seed{s}' / 'result.json')
                     .read_text())['metrics'] for s in (0, 1)]

    def mean_of(results, metric):
        return f'{statistics.mean(r[metric] for r in results):.2f}'

    assert means['ce'].split(' | ')[3:] == ['0 1', mean_of(ce, 'mIoU'),
                                            mean_of(ce, 'mIoU_tail') + ' |']
    assert sum(line.startswith('| held-out | rfs | threshold=')
               for line in text.splitlines()) == 3


@pytest.mark.xdist_group('slurm')  # shares reference_benchmark
def test_each_state_a_stopped_benchmark_leaves_is_told(reference_benchmark,
                                                       tmp_path):
    source = Path(reference_benchmark.work_dir) / 'ce' / 'seed0'
    run = tmp_path / 'work' / 'ce' / 'seed0'
    shutil.copytree(source, run)
    (run / 'result.json').unlink()
    checkpoint = run / 'iter_3.pth'
    assert checkpoint.is_file()
    (run / 'last_checkpoint').write_text(str(checkpoint))

    def state():
        return table_lines(status.report(str(tmp_path / 'work')))[
            'ce/seed0'][:2]

    assert state() == ['at a checkpoint (running, or resumes there)', '3/4']
    checkpoint.unlink()  # named, but gone: no checkpoint to resume from
    assert state() == ['started (no checkpoint yet)', '0/4']
    for name in ('train.out', 'test.out'):
        if (run / name).exists():
            (run / name).unlink()
    assert state() == ['prepared (not started)', '0/4']
    (run / 'jobs.json').write_text('[]')
    assert state() == ['submitted to Slurm', '0/4']


@pytest.mark.xdist_group('slurm')  # shares reference_benchmark
def test_the_training_left_is_estimated_at_the_finished_runs_pace(
        reference_benchmark, tmp_path):
    for seed in (0, 1):
        shutil.copytree(
            Path(reference_benchmark.work_dir) / 'ce' / f'seed{seed}',
            tmp_path / 'work' / 'ce' / f'seed{seed}')
    finished = json.loads((tmp_path / 'work' / 'ce' / 'seed0' /
                           'result.json').read_text())
    run = tmp_path / 'work' / 'ce' / 'seed1'
    (run / 'result.json').unlink()
    (run / 'last_checkpoint').write_text(str(run / 'iter_3.pth'))
    pace = finished['train_seconds'] / 4  # seconds of its 4 iterations
    left = (f'Left: 1 run to train, 1 iteration; at the finished runs\' '
            f'pace ({pace:.2f} s an iteration) about '
            f'{pace / 3600:.1f} h of training')
    assert left in status.report(str(tmp_path / 'work'))
    # evaluations train nothing: one prepared (its state says so), one
    # finished by an older version (no training logs), its result holding
    # the evaluated run's training seconds
    for name in ('prepared', 'finished'):
        evaluation = tmp_path / 'work' / 'posthoc' / name
        evaluation.mkdir(parents=True)
        shutil.copy(run / 'config.py', evaluation / 'config.py')
    prepared = tmp_path / 'work' / 'posthoc' / 'prepared'
    (prepared / 'state.json').write_text(json.dumps(dict(
        signature='x', attempts=[], evaluates=str(run))))
    done = tmp_path / 'work' / 'posthoc' / 'finished'
    (done / 'state.json').write_text(json.dumps(dict(signature='x',
                                                     attempts=[])))
    (done / 'result.json').write_text(json.dumps(dict(
        finished, train_seconds=1e6)))
    text = status.report(str(tmp_path / 'work'))
    assert left in text
    runs = table_lines(text)
    assert runs['posthoc/prepared'][:2] == ['prepared (not started)', '-']
    assert runs['posthoc/finished'][:2] == ['finished', '-']


@pytest.mark.xdist_group('slurm')  # shares reference_benchmark
def test_runs_not_prepared_yet_are_counted_from_the_plan(
        reference_benchmark, tmp_path):
    """The command writes what it will train before it starts: the seed
    runs, not prepared while the tuning runs, count in what is left, and
    so do the trials a widening may still add (the rule applied to the
    finished trials says whether it will)."""
    source = Path(reference_benchmark.work_dir)
    work = tmp_path / 'work'
    # the reference command's plan, in a work dir of this test's own (other
    # tests continue the reference's with other commands, which rewrite it)
    argv = list(reference_benchmark.args)
    argv[argv.index('--work-dir') + 1] = str(work)
    args = cli.parse_args(argv)
    cli.record_plan(args, cli.tuning_plan(args))
    plan = json.loads((work / 'plan.json').read_text())
    assert sorted((r['directory'], r['iters']) for r in plan['runs']) == [
        ('ce/seed0', 4), ('ce/seed1', 4), ('rfs/seed0', 4), ('rfs/seed1', 4),
        ('tuning/rfs/0.5', 2), ('tuning/rfs/0.75', 2), ('tuning/rfs/1', 2)]
    assert plan['widen'] == 2 and plan['widen_iters'] == 2
    assert plan['jobs'] == 2
    # the grid trained, no seed run prepared
    for value in ('0.5', '0.75', '1'):
        shutil.copytree(source / 'tuning' / 'rfs' / value,
                        work / 'tuning' / 'rfs' / value)

    def held_out_miou(value: str, mIoU: float) -> None:
        path = work / 'tuning' / 'rfs' / value / 'result.json'
        result = json.loads(path.read_text())
        result['metrics']['mIoU'] = mIoU
        path.write_text(json.dumps(result))

    for value, mIoU in (('0.5', 30.0), ('0.75', 20.0), ('1', 10.0)):
        held_out_miou(value, mIoU)  # the rule chooses the grid's edge
    pace = statistics.median(
        json.loads(path.read_text())['train_seconds'] / 2
        for path in (work / 'tuning').glob('rfs/*/result.json'))
    text = status.report(str(work))
    assert (f"Left: 4 runs to train (4 not prepared yet), 16 iterations; at "
            f"the finished runs' pace ({pace:.2f} s an iteration) about "
            f"{16 * pace / 3600:.1f} h of training, about "
            f"{8 * pace / 3600:.1f} h at 2 at a time;") in text
    assert (f'a tuning that widens its grids adds up to 2 trials, about '
            f'{4 * pace / 3600:.1f} h more.') in text
    # a widened trial chosen again leaves one more; one not chosen, none
    shutil.copytree(source / 'tuning' / 'rfs' / '1',
                    work / 'tuning' / 'rfs' / '0.25')
    held_out_miou('0.25', 40.0)
    assert 'adds up to 1 trial,' in status.report(str(work))
    held_out_miou('0.25', 25.0)
    assert 'widens' not in status.report(str(work))
    # the seed runs start once the tuning has ended
    held_out_miou('0.25', 40.0)
    shutil.copytree(source / 'ce' / 'seed0', work / 'ce' / 'seed0')
    text = status.report(str(work))
    assert 'Left: 3 runs to train (3 not prepared yet), 12 iterations' in text
    assert 'widens' not in text


@pytest.mark.xdist_group('slurm')  # shares reference_benchmark
def test_a_run_timed_on_a_busy_machine_stands_out(reference_benchmark,
                                                  tmp_path):
    """Other work only slows a run: one timed over 1.3 times its method's
    fastest is named, with that fastest's time."""
    work = tmp_path / 'work'
    for seed in (0, 1):
        shutil.copytree(
            Path(reference_benchmark.work_dir) / 'ce' / f'seed{seed}',
            work / 'ce' / f'seed{seed}')
    fast = json.loads((work / 'ce' / 'seed0' / 'result.json').read_text())
    path = work / 'ce' / 'seed1' / 'result.json'
    for factor, named in ((1.2, False), (2.0, True)):
        slow = dict(json.loads(path.read_text()),
                    step_s=factor * fast['step_s'])
        path.write_text(json.dumps(slow))
        text = status.report(str(work))
        assert (f"ce/seed1 {slow['step_s']:.2f} s ({fast['step_s']:.2f} s)"
                in text) is named
        assert ('Step times that stand out' in text) is named


def test_steps_compare_within_a_method_and_a_stage():
    steps = {}
    for name, method, step in (
            ('gml-2stage/seed0/gml-teacher', 'gml-2stage', 1.0),
            ('gml-2stage/seed1/gml-teacher', 'gml-2stage', 1.1),
            ('gml-2stage/seed0/gml-student', 'gml-2stage', 0.6),
            ('gml/seed0', 'gml', 0.9), ('gml/seed1', 'gml', 0.9),
            ('tuning/gml/0.5', 'gml', 0.9), ('tuning/gml/1', 'gml', 0.6)):
        result = dict(method=method, tuning=name.startswith('tuning/'))
        steps.setdefault(status._timing_group(name, result), []).append(
            (name, step))
    # a teacher beside a faster student is no outlier, nor are seeds beside
    # a faster trial; a trial beside a faster one is
    assert status.outlying_steps(steps) == [('tuning/gml/0.5', 0.9, 0.6)]


def test_a_directory_without_runs_is_refused_with_the_fix(tmp_path):
    with pytest.raises(UserError, match='no such directory'):
        status.report(str(tmp_path / 'missing'))
    (tmp_path / 'other').mkdir()
    with pytest.raises(UserError, match='holds no benchmark run .* give the '
                       '--work-dir the benchmark was started with'):
        status.report(str(tmp_path / 'other'))
