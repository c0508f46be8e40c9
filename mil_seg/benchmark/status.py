"""``mil_seg-bench status WORK_DIR``: where a benchmark or a design study
stands, read from its work dir alone, while it runs or after it stopped.

    mil_seg-bench status work_dirs/lt-bench/fcn-800
    mil_seg-bench status work_dirs/design --metrics mIoU mIoU_tail mIoU_rare

A long benchmark prints its tables only at its end. This prints, without
starting or changing anything, every run under the work dir (each
directory with a ``state.json``, :mod:`.runs`) with its state: finished
(with its metrics), stopped or running past a checkpoint (the iteration it
resumes from, of its budget), started without a checkpoint, submitted to
Slurm, or prepared only. Then the finished runs by method and values (runs
evaluated on the held-out split, tuning trials and design choices, apart
from those evaluated on val): how many seeds, and their mean of each
metric, a first look only: the benchmark's tables, with their intervals,
are the ones to read; the mean training time of a finished run; and the
iterations left with the time they take at the finished runs' pace
(the median run's seconds per iteration, its start and evaluation
included). The runs left include those not prepared yet (the seed runs
while the tuning runs) where the command wrote its plan
(:func:`write_plan`, ``plan.json``), and say how much a widening tuning
may add. Runs timed much slower than their method's fastest are named
(:func:`outlying_steps`): the machine was busy with other work, which
moves the benchmark's time ratios.
"""
import argparse
import json
import os
import os.path as osp
import re
import statistics
import sys
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from ..errors import UserError
from .methods import METHODS
from .results import write_json
from .runs import Run, last_checkpoint, training_logs
from .tuning import choose, past_edge

#: The metrics shown by default.
DEFAULT_METRICS = ('mIoU', 'mIoU_tail')
#: The file in a work dir that lists the trainings its command will run.
PLAN_FILE = 'plan.json'


def write_plan(work_dir: str, runs: Sequence[Run],
               grids: Optional[Dict[str, Sequence[str]]] = None,
               widen: int = 0, widen_iters: int = 0,
               metric: str = 'mIoU', jobs: Optional[int] = None) -> None:
    """Record what a benchmark or design study will train, before it
    starts, so that :func:`report` counts the runs not prepared yet.

    Args:
        work_dir (str): The command's work dir (paths are kept relative
            to it, so that a moved work dir keeps its plan).
        runs (Sequence[Run]): Every run known before it starts; those that
            train nothing (evaluations) are left out.
        grids (dict, optional): Per tuned method whose trials train, its
            grid's trial directories: a trial elsewhere in their folder is
            a widened one. Defaults to None (no tuning).
        widen (int): The trials a tuning may add to each of ``grids``.
            Defaults to 0.
        widen_iters (int): The budget of such a trial. Defaults to 0.
        metric (str): The held-out metric the tuning chooses by. Defaults
            to 'mIoU'.
        jobs (int, optional): The runs that train at a time (``--jobs``
            of a local command). Defaults to None (unknown: Slurm's).
    """
    write_json(osp.join(work_dir, PLAN_FILE), dict(
        runs=[dict(directory=run_name(run.directory, work_dir),
                   iters=run.iters)
              for run in runs if not run.evaluate_only],
        grids={name: [run_name(d, work_dir) for d in directories]
               for name, directories in (grids or {}).items()},
        widen=widen, widen_iters=widen_iters, metric=metric, jobs=jobs))


def run_name(directory: str, work_dir: str) -> str:
    """A run as the status and the plan name it: its directory relative to
    the work dir, with ``/``."""
    return osp.relpath(directory, work_dir).replace(os.sep, '/')


class Unprepared(NamedTuple):
    """What a plan holds beyond the runs found (:func:`unprepared`)."""

    runs: int
    iterations: int
    widened: int  # trials a widening may still add, at most
    widened_iterations: int
    jobs: Optional[int]  # the runs at a time, where the plan knows it


def _widening_ended(method: str, trials: Dict[str, Optional[dict]],
                    metric: str) -> bool:
    """Whether a method's trials (value: its result, None unfinished) are
    all finished and choose a value inside the values tried (the tuning's
    rule, ties aside), so that no trial is added."""
    metrics = {}
    for value, result in trials.items():
        try:
            metrics[float(value)] = result['metrics']
        except (TypeError, KeyError, ValueError):  # unfinished, or not a trial
            return False
    if len(metrics) < 2 or method not in METHODS:
        return False
    return past_edge(list(metrics), choose(metrics, metric),
                     METHODS[method].knob.bounds) is None


def unprepared(work_dir: str, found: Dict[str, Optional[dict]]
               ) -> Optional[Unprepared]:
    """What the work dir's plan (:func:`write_plan`) holds beyond the runs
    found ({run name: its result, None unfinished}); None without a
    plan."""
    plan = _read_json(osp.join(work_dir, PLAN_FILE))
    if not plan:
        return None
    missing = [r for r in plan.get('runs', [])
               if r['directory'] not in found and r.get('iters')]
    widened = 0
    # the seed runs start once every tuning has ended
    tuned = any(r['directory'] in found and
                not r['directory'].startswith('tuning/')
                for r in plan.get('runs', []))
    for method, directories in ({} if tuned else plan.get('grids',
                                                           {})).items():
        folder = directories[0].rsplit('/', 1)[0] + '/'
        trials = {name[len(folder):]: result
                  for name, result in found.items()
                  if name.startswith(folder) and '/' not in name[len(folder):]}
        if _widening_ended(method, trials, plan.get('metric', 'mIoU')):
            continue
        grid = {d.rsplit('/', 1)[-1] for d in directories}
        widened += max(0, plan.get('widen', 0) - len(set(trials) - grid))
    return Unprepared(len(missing), sum(r['iters'] for r in missing),
                      widened, widened * plan.get('widen_iters', 0),
                      plan.get('jobs'))


def _read_json(path: str) -> Optional[dict]:
    """A JSON file's object, or None where it is missing or being
    written (the benchmark writes atomically, but a reader may still race
    a rename on some file systems)."""
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def find_runs(work_dir: str) -> List[str]:
    """Every run directory under ``work_dir`` (one holding a
    ``state.json``), sorted."""
    found = []
    for root, _, files in os.walk(work_dir):
        if 'state.json' in files:
            found.append(root)
    return sorted(found)


def budget(directory: str) -> Optional[int]:
    """The run's iterations, from the config it trains (None for a run
    that trains nothing, e.g. one evaluating another's checkpoint)."""
    try:
        with open(osp.join(directory, 'config.py'), encoding='utf-8') as f:
            text = f.read()
    except OSError:
        return None
    found = re.search(r'max_iters=(\d+)', text)
    return int(found.group(1)) if found else None


def checkpoint_iteration(directory: str) -> Optional[int]:
    """The iteration of the checkpoint the run resumes from
    (:func:`~.runs.last_checkpoint`), else None."""
    named = last_checkpoint(directory)
    found = re.search(r'iter_(\d+)\.pth$', named or '')
    return int(found.group(1)) if found else None


def run_state(directory: str) -> Dict[str, object]:
    """One run's state.

    Returns:
        dict: ``state`` ('finished', 'checkpoint', 'started', 'submitted'
        or 'prepared'), ``iteration`` (the last checkpoint's, else None),
        ``iters`` (its budget, else None) and ``result`` (its
        ``result.json``, else None).
    """
    result = _read_json(osp.join(directory, 'result.json'))
    stored = _read_json(osp.join(directory, 'state.json')) or {}
    # an evaluation of another run's checkpoint trains nothing (older
    # state files do not say so: a finished one has no training logs)
    evaluates = 'evaluates' in stored or (
        result is not None and not training_logs(directory))
    iteration = checkpoint_iteration(directory)
    if result is not None:
        state = 'finished'
    elif iteration is not None:
        state = 'checkpoint'
    elif osp.isfile(osp.join(directory, 'jobs.json')):
        state = 'submitted'
    elif osp.isfile(osp.join(directory, 'train.out')) or osp.isfile(
            osp.join(directory, 'test.out')):
        state = 'started'
    else:
        state = 'prepared'
    return dict(state=state, iteration=iteration,
                iters=None if evaluates else budget(directory), result=result)


#: How each state reads.
STATE_TEXT = {
    'finished': 'finished',
    'checkpoint': 'at a checkpoint (running, or resumes there)',
    'started': 'started (no checkpoint yet)',
    'submitted': 'submitted to Slurm',
    'prepared': 'prepared (not started)',
}


def _number(value) -> str:
    return '-' if value is None else f'{value:.2f}'


def _count(number: int, noun: str) -> str:
    return f'{number} {noun}' + ('' if number == 1 else 's')


def _values_text(values: Dict[str, object]) -> str:
    """``tau=0.5`` for ``{'model.decode_head.prior.tau': 0.5}``."""
    return ', '.join(f'{key.rsplit(".", 1)[-1]}={value}'
                     for key, value in sorted(values.items())) or '-'


#: A run's step time this many times its method's fastest stands out.
SLOW_STEP = 1.3


def _timing_group(name: str, result: dict) -> Tuple[str, str, bool]:
    """The runs whose step times compare: one method's seed runs, or its
    tuning trials (they train on fewer images, and often at another time),
    one stage's of a two-stage method."""
    last = name.rsplit('/', 1)[-1]
    stage = '' if re.fullmatch(r'seed\d+|[-+.\de]+', last) else last
    return str(result.get('method', '?')), stage, bool(result.get('tuning'))


def outlying_steps(
        steps: Dict[Tuple[str, str, bool], List[Tuple[str, float]]]
) -> List[Tuple[str, float, float]]:
    """The runs timed slower than :data:`SLOW_STEP` times the fastest of
    their group: (run, its step time, the fastest's). Other work on the
    machine only slows a run, and the benchmark's time ratios divide one
    run's step time by another's, so such a run moves them."""
    slow = []
    for runs in steps.values():
        fastest = min(step for _, step in runs)
        slow += [(name, step, fastest) for name, step in runs
                 if step > SLOW_STEP * fastest]
    return sorted(slow)


def report(work_dir: str, metrics: Sequence[str] = DEFAULT_METRICS) -> str:
    """The status of every run under ``work_dir`` as markdown tables.

    Raises:
        UserError: For a missing directory, or one holding no run.
    """
    if not osp.isdir(work_dir):
        raise UserError(f'{work_dir}: no such directory (give the '
                        '--work-dir of the benchmark or design study)')
    directories = find_runs(work_dir)
    if not directories:
        raise UserError(f'{work_dir} holds no benchmark run (no state.json '
                        'below it): give the --work-dir the benchmark was '
                        'started with')
    lines = ['| run | state | iteration | ' + ' | '.join(metrics) + ' |',
             '|---|---|---|' + '---|' * len(metrics)]
    counts: Dict[str, int] = {}
    groups: Dict[Tuple[str, str, str], List[dict]] = {}
    seconds, paces, left, runs_left = [], [], 0, 0
    steps: Dict[Tuple[str, str, bool], List[Tuple[str, float]]] = {}
    found: Dict[str, Optional[dict]] = {}
    for directory in directories:
        run = run_state(directory)
        counts[run['state']] = counts.get(run['state'], 0) + 1
        result = run['result'] or {}
        iteration = '-'
        if run['iters'] is not None:  # a training run
            done = (run['iters'] if result else run['iteration'] or 0)
            iteration = f'{done}/{run["iters"]}'
        cells = [_number(result.get('metrics', {}).get(m)) for m in metrics]
        name = run_name(directory, work_dir)
        found[name] = run['result']
        lines.append(f'| {name} | {STATE_TEXT[run["state"]]} | {iteration} | '
                     + ' | '.join(cells) + ' |')
        if result:
            split = 'held-out' if result.get('tuning') else 'val'
            key = (split, str(result.get('method', '?')),
                   _values_text(result.get('values') or {}))
            groups.setdefault(key, []).append(result)
            if result.get('train_seconds') and run['iters'] is not None:
                seconds.append(float(result['train_seconds']))
                paces.append(seconds[-1] / run['iters'])
            if result.get('step_s') and run['iters'] is not None:
                steps.setdefault(_timing_group(name, result), []).append(
                    (name, float(result['step_s'])))
        elif run['iters'] is not None:
            runs_left += 1
            left += run['iters'] - (run['iteration'] or 0)
    order = [s for s in STATE_TEXT if s in counts]
    lines += ['', f'{len(directories)} runs: ' + '; '.join(
        f'{counts[s]} {STATE_TEXT[s]}' for s in order) + '.']
    if seconds:
        minutes = statistics.mean(seconds) / 60
        lines.append(f'A finished run trained for {minutes:.1f} min on '
                     'average.')
    planned = unprepared(work_dir, found)
    if planned:
        runs_left += planned.runs
        left += planned.iterations
    if runs_left and paces:
        # the median run's: one stopped, or timed beside other work, does
        # not move it
        pace = statistics.median(paces)
        hours = left * pace / 3600
        prepared_only, later = '', ''
        if planned is None:
            later = ('; runs not prepared yet (the trials a tuning widens '
                     'to, the seed runs once it ends) come on top')
        else:
            if planned.runs:
                prepared_only = f' ({planned.runs} not prepared yet)'
            if planned.widened:
                later = (f'; a tuning that widens its grids adds up to '
                         f'{_count(planned.widened, "trial")}, about '
                         f'{planned.widened_iterations * pace / 3600:.1f} h '
                         'more')
        jobs = planned.jobs if planned else None
        at_a_time = (f', about {hours / jobs:.1f} h at {jobs} at a time'
                     if jobs else ', divided by the runs that train at a '
                     'time (--jobs)')
        lines.append(f'Left: {_count(runs_left, "run")} to train'
                     f'{prepared_only}, {_count(left, "iteration")}; '
                     f'at the finished runs\' pace ({pace:.2f} s an '
                     f'iteration) about {hours:.1f} h of training'
                     f'{at_a_time}{later}.')
    slow = outlying_steps(steps)
    if slow:
        lines.append('Step times that stand out (over '
                     f'{SLOW_STEP:g} times the fastest of their method\'s '
                     'finished seed runs, or trials; the machine may have '
                     'been busy with other work: move such a run aside and '
                     'run the command again to time it anew): ' + ', '.join(
                         f'{name} {step:.2f} s ({fastest:.2f} s)'
                         for name, step, fastest in slow) + '.')
    if groups:
        lines += ['', 'Finished runs by method and values: mean over their '
                  'seeds (a first look; the tables the benchmark ends with, '
                  'with their intervals, are the result).', '',
                  '| split | method | values | seeds | ' +
                  ' | '.join(metrics) + ' |',
                  '|---|---|---|---|' + '---|' * len(metrics)]
        for (split, method, values), results in groups.items():
            seeds = ' '.join(str(r.get('seed', '?')) for r in sorted(
                results, key=lambda r: r.get('seed', -1)))
            means = []
            for metric in metrics:
                found = [r['metrics'][metric] for r in results
                         if r.get('metrics', {}).get(metric) is not None]
                means.append(_number(statistics.mean(found)) if len(
                    found) == len(results) else '-')
            lines.append(f'| {split} | {method} | {values} | {seeds} | ' +
                         ' | '.join(means) + ' |')
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """``mil_seg-bench status WORK_DIR [--metrics ...]``."""
    parser = argparse.ArgumentParser(
        prog='mil_seg-bench status', description=__doc__.split('\n')[0])
    parser.add_argument('work_dir', help='the --work-dir of a benchmark or '
                        'design study')
    parser.add_argument('--metrics', nargs='+', default=list(DEFAULT_METRICS),
                        help='the metrics shown (default: mIoU mIoU_tail)')
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    print(report(args.work_dir, args.metrics))
