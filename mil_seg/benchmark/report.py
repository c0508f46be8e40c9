"""The benchmark's report: its printed tables and its result files.

One table of the seed runs (mean and sample standard deviation over seeds
of mIoU and each class group, the IoU of the rarest classes of the training
prior, step time and peak memory as ratios to CE's of the same seed), one
of the tuning (every trial's held-out metric, the choice). ``args`` is the
command line of :mod:`.cli`.
"""
import argparse
import os
import platform
from typing import Any, Dict, List, Optional

from .methods import DEFAULT_PATTERN, METHODS, config_names, config_relpath
from .results import provenance, recorded, write_result
from .run_config import Settings
from .stats import cell
from .tuning import TuningPlan, chosen_values, settings_text

#: Group metrics of LongTailIoUMetric, in table order.
GROUP_METRICS = ('mIoU', 'mIoU_head', 'mIoU_body', 'mIoU_tail',
                 'mIoU_frequent', 'mIoU_common', 'mIoU_rare')
#: The rarest classes of the training prior shown per class.
NUM_RAREST = 5
#: How a result file records the command (``mil_seg-bench`` runs the same).
PROGRAM = ('python', '-m', 'mil_seg.benchmark')


def reported_groups(metrics: List[Dict[str, float]]) -> List[str]:
    """The group metrics (:data:`GROUP_METRICS` order) any run reported."""
    return [m for m in GROUP_METRICS if any(m in d for d in metrics)]


def summarize(args: argparse.Namespace, results: List[dict],
              choices: Dict[str, dict]) -> Dict[str, Any]:
    """Per method the seeds' values of every table column.

    Args:
        args (argparse.Namespace): The command line.
        results (list[dict]): One result per method and seed
            (:func:`~.runs.method_result`).
        choices (dict): The tuned values (:func:`~.tuning.tune`).

    Returns:
        dict: ``groups``, ``rarest`` (column keys), ``rows`` (per method:
        ``method``, ``label``, ``values``, ``seeds``: {seed: {column:
        value}}) and ``memory_kind``.
    """
    first = results[0]
    rarest = sorted(range(len(first['classes'])),
                    key=lambda c: first['prior_counts'][c])[:NUM_RAREST]
    groups = reported_groups([r['metrics'] for r in results])
    ce = {r['seed']: r for r in results if r['method'] == 'ce'}
    rows = []
    for name in args.methods:
        seeds = {}
        for r in (r for r in results if r['method'] == name):
            values = {m: r['metrics'].get(m) for m in groups}
            values.update({f"IoU_{first['classes'][c]}": r['iou'][c]
                           for c in rarest})
            base = ce.get(r['seed'])
            values['step_s'] = r['step_s']
            values['peak_mb'] = r['peak_mb']
            values['time_ratio'] = (r['step_s'] / base['step_s'] if base and
                                    r['step_s'] and base['step_s'] else None)
            values['memory_ratio'] = (r['peak_mb'] / base['peak_mb']
                                      if base else None)
            seeds[r['seed']] = values
        rows.append(dict(method=name, label=METHODS[name].label,
                         values=chosen_values(name, choices), seeds=seeds))
    return dict(groups=groups,
                rarest=[f"IoU_{first['classes'][c]}" for c in rarest],
                rows=rows, memory_kind=first['memory_kind'])


def print_table(args: argparse.Namespace, summary: Dict[str, Any]) -> None:
    """The benchmark's markdown table."""
    columns = summary['groups'] + summary['rarest'] + ['time_ratio',
                                                       'memory_ratio']
    print(f'\n{args.segmentor}, {args.iters} iterations, seeds '
          f'{" ".join(map(str, args.seeds))}: mean ± std over seeds; time '
          f'and memory ({summary["memory_kind"]}) as ratios to CE')
    print('| method | knob | ' + ' | '.join(columns) + ' |')
    print('|---|---|' + '---|' * len(columns))
    for row in summary['rows']:
        knob = ', '.join(f'{k.rsplit(".", 1)[-1]}={v:g}'
                         for k, v in row['values'].items()) or '-'
        cells = [cell([s.get(c) for s in row['seeds'].values()],
                      3 if c.endswith('ratio') else 2) for c in columns]
        print(f"| {row['label']} | {knob} | " + ' | '.join(cells) + ' |')


def print_tuning(args: argparse.Namespace, choices: Dict[str, dict]) -> None:
    """The tuning table: held-out metric of every trial, the choice."""
    if not choices:
        return
    if args.tuned_from:
        print(f'\nValues chosen by the tuning of {args.tuned_from} (its '
              'split, budget and rule are in that file)')
    else:
        print(f'\nTuning on {args.holdout_fraction:g} of train held out '
              f'(seed {args.tune_seed}, {args.tune_iters} iterations), '
              f'rule: highest held-out {args.tune_metric}, ties to the '
              'config\'s')
    print(f'| method | knob | value | held-out {args.tune_metric} | '
          'chosen |')
    print('|---|---|---|---|---|')
    for name, choice in choices.items():
        for value, metrics in choice['trials'].items():
            metric = metrics.get(args.tune_metric)
            print(f"| {METHODS[name].label} | {choice['name']} | {value:g} "
                  f"| {'n/a' if metric is None else f'{metric:.2f}'} | "
                  f"{'yes' if value == choice['value'] else ''} |")


def method_config(args: argparse.Namespace, name: str) -> str:
    """The config a method's rows name: the one it evaluates (the last
    stage's for a two-stage method)."""
    settings = Settings(segmentor=args.segmentor,
                        config_pattern=args.config_pattern)
    return config_relpath(settings.config(config_names(name)[-1]))


def dataset_label(args: argparse.Namespace) -> str:
    """The data a result file's runs trained on, as it records it."""
    if args.data_config:
        return args.data_config
    if args.config_pattern != DEFAULT_PATTERN:
        return f'the data of {args.config_pattern}'
    return 'CamVid at 240x180 (the configs\' data)'


def result_header(args: argparse.Namespace,
                  argv: Optional[List[str]] = None) -> Dict[str, Any]:
    """The fields every result file of this invocation shares.

    Args:
        args (argparse.Namespace): The command line.
        argv (list[str], optional): Its arguments, for ``command``.
            Defaults to None (``args.argv``, which :mod:`.cli` sets).
    """
    argv = list(getattr(args, 'argv', []) if argv is None else argv)
    return dict(
        schema=1, task='seg',
        dataset=dataset_label(args),
        model=args.model_label or args.segmentor,
        machine=f'{os.cpu_count()} CPU cores ({platform.machine()}), '
        f'{args.jobs} run(s) at a time x '
        f'{args.threads} thread(s)', **provenance([*PROGRAM, *argv]),
        source='python -m mil_seg.benchmark --results-out (say who ran it '
        'and where its work dir is kept)')


def write_results(args: argparse.Namespace, summary: Dict[str, Any],
                  choices: Dict[str, dict]) -> None:
    """The table (and the tuning table) as result files."""
    columns = summary['groups'] + summary['rarest'] + ['step_s', 'peak_mb',
                                                       'time_ratio',
                                                       'memory_ratio']
    digits = {'time_ratio': 3, 'memory_ratio': 3, 'step_s': 3, 'peak_mb': 0}
    common = result_header(args)
    rows = []
    for row in summary['rows']:
        entry = dict(label=row['label'], config=method_config(
            args, row['method']), seeds={
                str(seed): {c: recorded(v.get(c), digits.get(c, 2))
                            for c in columns}
                for seed, v in sorted(row['seeds'].items())})
        if settings_text(row['values']):
            entry['settings'] = settings_text(row['values'])
        rows.append(entry)
    write_result(dict(
        common, title=f'Long-tail methods, {args.segmentor}, {args.iters} '
        'iterations', kind='accuracy', split='val',
        schedule=f'{args.iters} iterations',
        metrics=summary['groups'] + summary['rarest'] + ['time_ratio',
                                                         'memory_ratio'],
        rows=rows), args.results_out)
    print(f'\nResult file: {args.results_out}')
    if not args.tuned_from:
        write_tuning_results(args, choices, common)


def tuning_path(results_out: str) -> str:
    """The tuning result file beside ``--results-out``."""
    return results_out[:-len('.json')] + '-tuning.json'


def write_tuning_results(args: argparse.Namespace, choices: Dict[str, dict],
                         common: Dict[str, Any]) -> None:
    """The tuning table as a result file (``-tuning`` before ``.json``)."""
    if not choices:
        return
    plan = TuningPlan(args.holdout_fraction, args.tune_iters, args.tune_seed,
                      args.tune_metric)
    groups = reported_groups([metrics for choice in choices.values()
                              for metrics in choice['trials'].values()])
    tuning_rows = []
    for name, choice in choices.items():
        inherited = chosen_values(name, {k: v for k, v in choices.items()
                                         if k != name})
        for value, metrics in choice['trials'].items():
            entry = dict(
                label=f"{METHODS[name].label}, {choice['name']} {value:g}",
                config=method_config(args, name),
                seeds={str(args.tune_seed): {
                    m: recorded(metrics.get(m), 2) for m in groups}},
                settings=settings_text(dict(inherited,
                                            **{choice['key']: value})))
            if value == choice['value']:
                entry['chosen'] = True
            tuning_rows.append(entry)
    path = tuning_path(args.results_out)
    write_result(dict(
        common, title=f'Tuning of the long-tail methods, {args.segmentor}',
        kind='tuning', split=f'held-out {plan.fraction:g} of train '
        '(the last images of each sequence)',
        schedule=f'{plan.iters} iterations', rule=plan.rule, metrics=groups,
        rows=tuning_rows), path)
    print(f'Tuning result file: {path}')
