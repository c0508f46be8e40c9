"""The long-tailed segmentation benchmark: methods x seeds, one budget, one
table.

    python -m mil_seg.benchmark --methods ce lace gml \\
        --segmentor fcn --iters 800 --seeds 0 1 2 --tune \\
        --data-root data/camvid --work-dir work_dirs/lt-bench/fcn-800 \\
        --results-out results/camvid-lt-fcn-800.json
    mil_seg-bench ...                     # the same, installed
    mil_seg-bench render [--check]        # the model-zoo tables (zoo.py)

Every method is a config (``--config-pattern``, by default the package's
CamVid tiny configs ``configs/gml_seg/{segmentor}-{method}_r18-tiny-d8_
1xb8-1k_camvid-240x180.py``, found in the installed package), trained
through ``python -m mil_seg.tools.train`` with one budget (``--iters``: the
config's schedule scaled to it) and each seed of ``--seeds``, evaluated on
the val split by the config's ``LongTailIoUMetric`` once at the end of
training. It prints one table: mean and sample standard deviation over
seeds of mIoU and of each class group (head / body / tail by pixel share;
frequent / common / rare by image frequency where the metric reports them),
the IoU of the five rarest classes of the training prior, and the step time
and peak memory of each method as ratios to cross-entropy's (``ce``) in the
same run, ranked by ``--rank-by`` (mIoU by default); before it, each
method's difference to CE and to the best (the top-ranked), and to the
methods of ``--compare-with``, in mIoU and each group, with the 95 %
interval of a paired bootstrap over the evaluation images
(:mod:`.bootstrap`; ``*``: the interval excludes 0). The result file keeps
every class's IoU. Beside it (or in ``--work-dir``):
``<stem>-classes.png``, the IoU of every class by training frequency, one
series per method, and ``<stem>-winner.py``, the top-ranked method's config
as its runs trained it, ready for ``mil_seg-train``. ``gml-2stage`` trains
a GML teacher and then a student with it (its time is both stages');
``gml-posthoc`` evaluates GML's checkpoints at an inference prior strength
(``posthoc_tau``) tuned like any knob.

``mil_seg-bench design``: the design study of GML, each design choice
against the shipped config on the held-out split (:mod:`.design`).
``mil_seg-bench combine``: several result files with the same rows (a
study on each dataset) as one table (:mod:`.combine`).
``mil_seg-bench status WORK_DIR``: where a running or stopped benchmark
stands, run by run (:mod:`.status`).

Another dataset: ``--data-config FILE`` names a config holding
``train_dataloader``, ``val_dataloader`` (``test_dataloader``, optional),
``val_evaluator``, ``prior`` (its ``ClassPrior`` dict, e.g.
``dict(type='ClassPrior', file='my_prior.json')`` with the file
``tools/analysis/compute_class_prior.py`` wrote) and ``crop_size``
(optional); they replace those of every method's config
(:func:`~.run_config.apply_data_config`).

Tuning (``--tune``): each method's main knob (:data:`~.methods.METHODS`) is
chosen among at most three values on the training set minus a held-out part
(``--holdout-fraction``), val never read (:mod:`.tuning`), the grid widened
past a chosen edge by up to ``--widen`` values; ``--knob-values`` replaces a
grid that does not fit the data by as many values of its own.
``--tune-only`` stops there; a later ``--tune`` run with the same
``--work-dir`` reads the trials back. ``--tuned-from FILE`` trains at the
values a tuning result file records as chosen.

An interrupted benchmark (killed at any point, ``kill -9`` included)
continues where it stopped and ends with the same table: every run has
its own directory under ``--work-dir`` (:mod:`.runs`); a finished run is
read back, an unfinished one resumes from its last checkpoint; a
directory holding a run of other settings is refused. A run that fails
stops only the runs that need it; the command ends naming every failure
once the others have finished. The command writes its plan into the work
dir first, so that ``status`` counts the runs not prepared yet.

On a Slurm cluster (``--executor slurm``): every run is a job submitted
with ``sbatch`` (``--partition``, ``--gpus-per-run``, ``--cpus-per-run``,
``--time-limit``); the command waits for its jobs, and the same command
started again after it died waits for the jobs still queued, reads back
the finished ones and submits only the others (:mod:`.slurm`).

Times: ``--jobs N`` runs N trainings at a time, each with ``--threads``
threads; step time is the median of mmengine's logged windows of
per-iteration time (the first, warm-up, left out; a window slowed by
another job, or by a stopped process, does not move it, a machine busy
with other work for most of a run does; result files of
before 2026-12-07 hold the mean), peak memory the CUDA peak
that mmengine logs, else the peak RSS of the training process tree.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional, Sequence

from ..errors import UserError
from .methods import DEFAULT_PATTERN, METHODS, config_names, required_methods
from .report import (COST_COLUMNS, GROUP_METRICS, dataset_label,
                     print_table, print_tuning, rankable, result_header,
                     summarize, write_outputs, write_results,
                     write_tuning_results)
from .run_config import Settings, check_data_config, data_prior
from .runs import (Executor, LocalExecutor, method_result, method_runs,
                   run_all)
from .status import write_plan
from .tuning import (TuningPlan, chosen_values, planned_trials,
                     read_tuned_values, tune)


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's arguments."""
    parser = argparse.ArgumentParser(
        prog='mil_seg-bench', description=__doc__.split('\n')[0],
        epilog='mil_seg-bench render [--check]: the model-zoo tables; '
        'mil_seg-bench design --help: the design study of one method; '
        'mil_seg-bench combine --help: result files side by side; '
        'mil_seg-bench status WORK_DIR: where a benchmark stands')
    parser.add_argument('--methods', nargs='+', default=['ce', 'lace', 'gml'],
                        choices=sorted(METHODS))
    add_run_arguments(parser)
    parser.add_argument('--tune', action='store_true',
                        help='choose each knob on the held-out split first')
    parser.add_argument('--tune-only', action='store_true',
                        help='tune, write the tuning table and stop (a '
                        'later --tune run with this --work-dir reads the '
                        'trials back); --seeds unused')
    parser.add_argument('--tuned-from', default=None, metavar='FILE',
                        help='train at the values a tuning result file '
                        'chose, instead of --tune')
    parser.add_argument('--tune-iters', type=int, default=None,
                        help='budget of a tuning run (default: --iters)')
    parser.add_argument('--tune-seed', type=int, default=0)
    parser.add_argument('--tune-metric', default='mIoU',
                        help='the held-out metric the rule maximises')
    parser.add_argument('--knob-values', nargs='+', default=[],
                        metavar='METHOD=V1,V2,V3',
                        help='--tune: the values tried for a method\'s knob '
                        'on this data instead of its grid, as many as the '
                        'grid holds (e.g. rfs=0.01,0.03,0.1 on a dataset '
                        'with many classes)')
    parser.add_argument('--widen', type=int, default=None, metavar='N',
                        help='--tune: a knob chosen at an edge of its grid '
                        'is tried one value further, up to N values, every '
                        'method alike (default 2; 0: the grids only)')
    parser.add_argument('--compare-with', nargs='+', default=[],
                        metavar='METHOD',
                        help='also give every method\'s difference to these '
                        'methods of --methods, with intervals (default: to '
                        'CE and to the best only), e.g. gml-cw to read how '
                        'far every method is from one variant')
    return parser


def add_run_arguments(
        parser: argparse.ArgumentParser,
        work_dir: str = 'work_dirs/long_tail_seg',
        results_help: str = 'write the table (and the tuning table) as '
        'result files (results/README.md); the per-class plot and the '
        'winner\'s config go beside it') -> None:
    """The arguments of every command that trains runs: the configs and
    data, the budget and seeds, where runs execute and what is written
    (checked by :func:`check_run_arguments`).

    Args:
        parser (argparse.ArgumentParser): The command's parser.
        work_dir (str): The default ``--work-dir``. Defaults to
            'work_dirs/long_tail_seg'.
        results_help (str): What ``--results-out`` writes.
    """
    parser.add_argument('--segmentor', default='fcn',
                        help='{segmentor} of --config-pattern')
    parser.add_argument('--config-pattern', default=DEFAULT_PATTERN,
                        help='config path of a method, with {segmentor} and '
                        '{method} (a relative one is looked up in the '
                        'package\'s configs, then here)')
    parser.add_argument('--data-config', default=None,
                        help='a config whose train_dataloader, '
                        'val_dataloader, val_evaluator and prior replace '
                        'the methods\'')
    parser.add_argument('--data-root', default=None,
                        help='data_root of every dataset (default: the '
                        'configs\')')
    parser.add_argument('--iters', type=int, default=800)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--holdout-fraction', type=float, default=0.2,
                        help='the share of each sequence of train held out '
                        'for tuning')
    parser.add_argument('--work-dir', default=work_dir)
    parser.add_argument('--jobs', type=int, default=1,
                        help='trainings run at a time')
    parser.add_argument('--threads', type=int, default=1,
                        help='OMP_NUM_THREADS of every training')
    parser.add_argument('--executor', choices=('local', 'slurm'),
                        default='local', help='where runs train: here '
                        '(--jobs at a time) or as sbatch jobs')
    parser.add_argument('--partition', default=None,
                        help='--executor slurm: the partition (default: '
                        'the cluster\'s)')
    parser.add_argument('--gpus-per-run', type=int, default=None,
                        help='--executor slurm: GPUs of a run, one srun '
                        'task each (default 0: a CPU run, no --gres)')
    parser.add_argument('--cpus-per-run', type=int, default=None,
                        help='--executor slurm: CPUs of each task (default: '
                        '--threads)')
    parser.add_argument('--time-limit', default=None,
                        help='--executor slurm: sbatch --time of a run, e.g. '
                        '4:00:00 (default: the partition\'s)')
    parser.add_argument('--poll-seconds', type=float, default=None,
                        help='--executor slurm: seconds between two squeue '
                        'calls (default 10)')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='KEY=VALUE overrides of every run (values are '
                        'read as Python literals where they parse)')
    parser.add_argument('--model-label', default=None,
                        help='the model as result files name it, e.g. '
                        '"tiny FCN" (default: --segmentor)')
    parser.add_argument('--dataset-label', default=None,
                        help='the data as result files name it, e.g. "CCP '
                        'at 183x277" (default: CamVid for the package\'s '
                        'configs, else the --data-config file or the last '
                        'part of --config-pattern\'s name, e.g. '
                        'ccp-183x277); --tuned-from wants the label the '
                        'tuning file was written with')
    parser.add_argument('--results-out', default=None, help=results_help)
    parser.add_argument('--rank-by', default='mIoU', metavar='METRIC',
                        help='the column the table is ranked by and the '
                        'winner chosen by: mIoU (default), a group '
                        '(mIoU_tail, ...), IoU_<class> of a rarest class, '
                        'or a cost column (time_ratio, ...: lowest first)')


def check_run_arguments(parser: argparse.ArgumentParser,
                        args: argparse.Namespace) -> None:
    """Refuse run arguments that contradict each other (see
    :func:`add_run_arguments`), through ``parser.error``."""
    if not 0 < args.holdout_fraction < 1:
        parser.error('--holdout-fraction must be in (0, 1)')
    if args.results_out and not args.results_out.endswith('.json'):
        parser.error('--results-out names a .json file')
    if not rankable(args.rank_by):
        parser.error(f'--rank-by {args.rank_by}: give one of '
                     f'{", ".join(GROUP_METRICS + COST_COLUMNS)} or '
                     'IoU_<class>')
    slurm_only = [f'--{name.replace("_", "-")}' for name in (
        'partition', 'gpus_per_run', 'cpus_per_run', 'time_limit',
        'poll_seconds') if getattr(args, name) is not None]
    if slurm_only and args.executor != 'slurm':
        parser.error(f'{", ".join(slurm_only)}: only with --executor slurm '
                     '(add it, or drop them)')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv
    if args.tune_only:
        args.tune = True
    if args.tune_iters is None:
        args.tune_iters = args.iters
    if args.tuned_from and args.tune:
        parser.error('--tuned-from reads values another run chose: give it '
                     'or --tune/--tune-only, not both')
    if args.tune_only and not any(METHODS[m].knob for m in args.methods):
        parser.error('--tune-only: none of --methods has a knob to tune '
                     f'(methods with one: {knob_methods()}); add '
                     'one, or drop --tune-only to train the methods')
    args.knob_values = parse_knob_values(parser, args.knob_values)
    if args.widen is not None and not args.tune:
        parser.error('--widen: how --tune widens its grids; add --tune or '
                     '--tune-only, or drop it')
    if args.widen is not None and args.widen < 0:
        parser.error(f'--widen {args.widen}: give 0 (the grids only) or '
                     'more values past a chosen edge')
    args.widen = TuningPlan.widen if args.widen is None else args.widen
    if args.knob_values and not args.tune:
        parser.error('--knob-values: the grids of --tune; add --tune or '
                     '--tune-only, or drop it')
    check_run_arguments(parser, args)
    if 'ce' not in args.methods and not args.tune_only:
        print('warning: ce is not in --methods: the time and memory ratios, '
              'which divide by CE runs of the same invocation and seeds, '
              'will be n/a (add ce to --methods; a finished CE run in '
              '--work-dir is read back, not retrained)', file=sys.stderr)
    for name in args.methods:
        for parent in required_methods(name):
            if parent not in args.methods:
                parser.error(f'{name} needs {parent} in the same run: add '
                             f'{parent} to --methods')
    absent = [m for m in args.compare_with if m not in args.methods]
    if absent:
        parser.error(f'--compare-with {" ".join(absent)}: not in --methods '
                     '(the differences are between methods of this run: add '
                     'them to --methods, or drop them here)')
    return args


def knob_methods() -> str:
    """The methods that have a knob to tune, for an error message."""
    return ', '.join(name for name in METHODS if METHODS[name].knob)


def parse_knob_values(parser: argparse.ArgumentParser,
                      items: Sequence[str]) -> tuple:
    """``METHOD=V1,V2,...`` items as ``(method, values)`` pairs, checked:
    a method with a knob, numbers, as many as its grid (no method gets more
    chances than another), inside the knob's bounds (a value its config
    refuses would stop the benchmark after hours)."""
    pairs = {}
    for item in items:
        name, _, text = item.partition('=')
        method = METHODS.get(name)
        if method is None or method.knob is None:
            parser.error(f'--knob-values {item}: {name!r} is not a method '
                         f'with a knob (those with one: {knob_methods()})')
        try:
            values = tuple(float(v) for v in text.split(','))
        except ValueError:
            values = ()
        if len(values) != len(method.knob.values) or len(set(values)) != len(
                values):
            parser.error(f'--knob-values {item}: give {name}= and '
                         f'{len(method.knob.values)} different numbers, '
                         'comma-separated, as many as its grid '
                         f'{",".join(f"{v:g}" for v in method.knob.values)}')
        low, high = method.knob.bounds
        outside = [v for v in values if (low is not None and v < low) or
                   (high is not None and v > high)]
        if outside:
            parser.error(f'--knob-values {item}: {method.knob.name} takes '
                         f'values in {_range_text(low, high)}; '
                         f'{",".join(f"{v:g}" for v in outside)} lies outside')
        pairs[name] = values
    return tuple(pairs.items())


def _range_text(low: Optional[float], high: Optional[float]) -> str:
    """A knob's bounds as an interval, e.g. ``[0, 1]``."""
    if high is None:
        return f'[{low:g}, inf)' if low is not None else 'any number'
    return f'[{low:g}, {high:g}]' if low is not None else f'(-inf, {high:g}]'


def settings_of(args: argparse.Namespace) -> Settings:
    """The settings every run of the command line shares."""
    return Settings(segmentor=args.segmentor,
                    config_pattern=args.config_pattern,
                    data_config=args.data_config, data_root=args.data_root,
                    cfg_options=tuple(args.cfg_options),
                    threads=args.threads, work_dir=args.work_dir)


def check_inputs(args: argparse.Namespace, settings: Settings) -> None:
    """Refuse bad input before anything trains: a method without a config
    for the segmentor, a data config without what it must define.

    Raises:
        UserError: Naming the fix.
    """
    for name in args.methods:
        for config_name in config_names(name):
            path = settings.config(config_name)
            if not osp.isfile(path):
                raise UserError(
                    f'no config for method {name!r} of --segmentor '
                    f'{args.segmentor}: {path} (drop it from --methods, '
                    'choose another --segmentor or give --config-pattern)')
    if args.data_config:
        from mmengine.config import Config
        if not osp.isfile(args.data_config):
            raise UserError(f'--data-config {args.data_config} does not '
                            'exist: give the path of your data config')
        data = Config.fromfile(args.data_config)
        check_data_config(data)
        data_prior(data)  # its file exists and holds counts


def seed_runs(args: argparse.Namespace, choices: dict) -> List[list]:
    """Per method and seed, its runs (:func:`~.runs.method_runs`)."""
    groups = []
    for name in args.methods:
        evaluates = METHODS[name].evaluates
        for seed in args.seeds:
            groups.append(method_runs(
                name, seed, args.iters, chosen_values(name, choices), False,
                osp.join(args.work_dir, name, f'seed{seed}'),
                osp.join(args.work_dir, evaluates, f'seed{seed}')
                if evaluates else None))
    return groups


def executor_of(args: argparse.Namespace) -> Executor:
    """The executor the command line asks for, checked (a Slurm one
    refuses a machine without Slurm or an unknown partition before any job
    is submitted)."""
    if args.executor == 'local':
        return LocalExecutor(args.jobs, args.threads)
    from .slurm import SlurmExecutor
    executor = SlurmExecutor(
        args.partition, args.gpus_per_run or 0,
        args.cpus_per_run or args.threads, args.time_limit, args.threads,
        10.0 if args.poll_seconds is None else args.poll_seconds)
    executor.check()
    return executor


def tuning_plan(args: argparse.Namespace) -> TuningPlan:
    """How the command line tunes: the trials' budget and grids (its plan
    records them even where the command does not tune)."""
    return TuningPlan(args.holdout_fraction, args.tune_iters, args.tune_seed,
                      args.tune_metric, args.knob_values, args.widen)


def record_plan(args: argparse.Namespace, plan: TuningPlan) -> None:
    """Write what the command will train into its work dir
    (:func:`~.status.write_plan`): the grids' trials, the seed runs, and
    how many trials a widening may add."""
    trials, grids = (planned_trials(args.methods, plan, args.work_dir)
                     if args.tune else ([], {}))
    seeds = [] if args.tune_only else seed_runs(args, {})
    write_plan(args.work_dir, trials + [run for runs in seeds for run in runs],
               grids, plan.widen if args.tune else 0, plan.iters, plan.metric,
               args.jobs if args.executor == 'local' else None)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run the benchmark."""
    args = parse_args(argv)
    settings = settings_of(args)
    check_inputs(args, settings)
    executor = executor_of(args)
    plan = tuning_plan(args)
    choices = {}
    if args.tuned_from:
        choices = read_tuned_values(args.tuned_from, args.methods,
                                    dataset_label(args), settings)
    record_plan(args, plan)
    if args.tune:
        choices = tune(settings, executor, args.methods, plan, args.work_dir)
    if args.tune_only:
        print_tuning(args, choices)
        if args.results_out:
            write_tuning_results(args, choices, result_header(args))
        return
    groups = seed_runs(args, choices)
    flat = run_all(settings, executor, [run for runs in groups
                                        for run in runs])
    results, position = [], 0
    for runs in groups:
        results.append(method_result(flat[position:position + len(runs)]))
        position += len(runs)
    summary = summarize(args, results, choices)
    print_tuning(args, choices)
    print_table(args, summary)
    if args.results_out:
        write_results(args, summary, choices)
    write_outputs(args, settings, summary, results, groups)


def cli(argv: Optional[Sequence[str]] = None) -> None:
    """The command: ``mil_seg-bench`` and ``python -m mil_seg.benchmark``.

    A user error (bad input, a malformed result file) ends with one
    ``error:`` line and status 2 (:func:`mil_seg.launch.run_guarded`),
    before anything trains.

    Args:
        argv (Sequence[str], optional): The arguments. Defaults to None
            (``sys.argv[1:]``).
    """
    from ..launch import run_guarded
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ['render']:
        from .zoo import render_main
        sys.exit(run_guarded(lambda: render_main(argv[1:])))
    if argv[:1] == ['design']:
        from .design import main as design_main
        run_guarded(lambda: design_main(argv[1:]))
        return
    if argv[:1] == ['status']:
        from .status import main as status_main
        run_guarded(lambda: status_main(argv[1:]))
        return
    if argv[:1] == ['combine']:
        from .combine import main as combine_main
        run_guarded(lambda: combine_main(argv[1:]))
        return
    run_guarded(lambda: main(argv))
