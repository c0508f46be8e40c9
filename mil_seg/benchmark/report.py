"""The benchmark's report: its printed tables, its result files and what a
user acts on.

One table of the seed runs, ranked by ``--rank-by`` (mean and sample
standard deviation over seeds of mIoU and each class group, the IoU of the
rarest classes of the training prior, step time and peak memory as ratios
to CE's of the same seed); one of the differences of each method to CE and
to the best, in mIoU and each group, with the intervals of a paired
bootstrap over the evaluation images (:func:`compare_rows`); one of the
tuning (every trial's held-out metric, the choice). Beside the result file
(:func:`output_paths`): a per-class IoU plot of every method and the
winner's ready-to-train config. ``args`` is the command line of
:mod:`.cli`.
"""
import argparse
import os
import os.path as osp
import platform
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import UserError
from .bootstrap import load_sums
from .methods import DEFAULT_PATTERN, METHODS, config_names, config_relpath
from .results import (SCHEMA_VERSION, atomic_write, provenance, recorded,
                      write_result)
from .run_config import Settings, build_run_config
from .stats import cell, compare, difference_cell, mean_std
from .tuning import TuningPlan, chosen_values, settings_text

#: Group metrics of LongTailIoUMetric, in table order.
GROUP_METRICS = ('mIoU', 'mIoU_head', 'mIoU_body', 'mIoU_tail',
                 'mIoU_frequent', 'mIoU_common', 'mIoU_rare')
#: The rarest classes of the training prior shown per class.
NUM_RAREST = 5
#: How a result file records the command (``mil_seg-bench`` runs the same).
PROGRAM = ('python', '-m', 'mil_seg.benchmark')
#: The cost columns; lower is better, so ``--rank-by`` sorts them upward.
COST_COLUMNS = ('step_s', 'peak_mb', 'time_ratio', 'memory_ratio')
#: The paired bootstrap of the differences (:func:`~.stats.compare`).
BOOTSTRAP = dict(num_samples=2000, confidence=0.95, seed=0)


def rankable(metric: str) -> bool:
    """Whether ``--rank-by`` can name ``metric`` (a group metric, a cost
    column or a class's ``IoU_<class>``)."""
    return (metric in GROUP_METRICS or metric in COST_COLUMNS
            or metric.startswith('IoU_'))


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
        dict: ``groups``, ``rarest``, ``class_columns`` (every class's
        IoU; column keys), ``rows`` (per method,
        in ``--methods`` order: ``method``, ``label``, ``values``,
        ``seeds``: {seed: {column: value}}, ``sums``: {seed: path of its
        per-image sums or None}, ``rank``, ``differences``: see
        :func:`compare_rows`), ``rank_by``, ``order`` (the rows' indices by
        rank), ``class_groups`` (each class's group, or None),
        ``images``, ``notes`` and ``memory_kind``.

    Raises:
        UserError: For a ``--rank-by`` metric no run reported.
    """
    ce = {r['seed']: r for r in results if r['method'] == 'ce'}
    rows = []
    for name in args.methods:
        mine = [r for r in results if r['method'] == name]
        rows.append(dict(method=name, label=METHODS[name].label,
                         values=chosen_values(name, choices),
                         results={r['seed']: r for r in mine}))
    summary = summary_of(rows, ce, getattr(args, 'rank_by', 'mIoU'))
    wanted = getattr(args, 'compare_with', ())
    compare_rows(summary, also=[i for i, row in enumerate(rows)
                                if row['method'] in wanted])
    return summary


def summary_of(rows: List[Dict[str, Any]], base: Dict[int, dict],
               rank_by: str) -> Dict[str, Any]:
    """The table's columns of every row, ranked.

    Args:
        rows (list[dict]): Per row ``method``, ``label``, ``values`` and
            ``results`` ({seed: :func:`~.runs.method_result`}); each gains
            ``seeds`` ({seed: {column: value}}) and ``sums``.
        base (dict): {seed: result} the cost ratios divide by.
        rank_by (str): The ranking column.

    Returns:
        dict: The summary (see :func:`summarize`), before the differences.
    """
    results = [r for row in rows for r in row['results'].values()]
    first = results[0]
    rarest = sorted(range(len(first['classes'])),
                    key=lambda c: first['prior_counts'][c])[:NUM_RAREST]
    groups = reported_groups([r['metrics'] for r in results])
    for row in rows:
        seeds, row['sums'] = {}, {}
        for seed, r in row.pop('results').items():
            values = {m: r['metrics'].get(m) for m in groups}
            # every class's IoU: the table shows the rarest, the result
            # file keeps them all (which classes no method learns)
            values.update({f'IoU_{name}': iou
                           for name, iou in zip(first['classes'], r['iou'])})
            reference = base.get(seed)
            values['step_s'] = r['step_s']
            values['peak_mb'] = r['peak_mb']
            values['time_ratio'] = (
                r['step_s'] / reference['step_s'] if reference and
                r['step_s'] and reference['step_s'] else None)
            values['memory_ratio'] = (r['peak_mb'] / reference['peak_mb']
                                      if reference else None)
            seeds[seed] = values
            row['sums'][seed] = r.get('per_image_sums')
        row['seeds'] = seeds
    summary = dict(groups=groups,
                   rarest=[f"IoU_{first['classes'][c]}" for c in rarest],
                   class_columns=[f'IoU_{name}' for name in first['classes']],
                   rows=rows, memory_kind=first['memory_kind'],
                   rank_by=rank_by, notes=[])
    rank_rows(summary)
    return summary


def rank_rows(summary: Dict[str, Any]) -> None:
    """Rank the rows by the mean over seeds of ``summary['rank_by']``
    (highest first; lowest first for a cost column); rows without a value
    last, ties in ``--methods`` order. Sets ``order`` and each row's
    ``rank``.

    Raises:
        UserError: For a metric that is not a column of the table.
    """
    metric = summary['rank_by']
    columns = summary['groups'] + summary['rarest'] + list(COST_COLUMNS)
    if metric not in columns:
        raise UserError(f'--rank-by {metric}: no run reported it; the table '
                        f'has {", ".join(columns)} (the runs are kept: '
                        'rerun with one of them to read them back)')
    sign = 1 if metric in COST_COLUMNS else -1

    def key(index):
        mean, _ = mean_std([v.get(metric) for v in
                            summary['rows'][index]['seeds'].values()])
        return (mean is None, 0 if mean is None else sign * mean, index)

    summary['order'] = sorted(range(len(summary['rows'])), key=key)
    for rank, index in enumerate(summary['order'], 1):
        summary['rows'][index]['rank'] = rank


def compare_rows(summary: Dict[str, Any],
                 against: Optional[Sequence[int]] = None,
                 also: Sequence[int] = ()) -> None:
    """Each row's differences to CE and to the best row (rank 1), or to
    the rows ``against``, and to the rows ``also``, in mIoU and each group,
    with paired bootstrap intervals (:func:`~.stats.compare`).

    Runs pair by seed (seeds one of the two lacks are left out, and a note
    says so) and by evaluation image; each group's classes are those the
    metric grouped (the per-image sums record them, from the runs' prior).
    Sets each row's ``differences`` ({other row's label: dict(seeds=...,
    metrics={metric: Difference})}), ``class_groups``, ``images`` and adds
    to ``notes``.
    """
    rows = summary['rows']
    loaded: Dict[str, Tuple[Any, Dict[str, List[int]]]] = {}
    missing = []
    for row in rows:
        for seed, path in row['sums'].items():
            if path and osp.isfile(path):
                loaded[path] = load_sums(path)
            else:
                missing.append(f"{row['label']} seed {seed}")
    if missing:
        summary['notes'].append(
            'no per-image sums (a run evaluated before they were written, or '
            'its sums deleted): ' + ', '.join(missing) + ' left out of '
            'the differences; delete those runs\' result.json and '
            'per_class.json and rerun to evaluate them again')
    groupings = [groups for _, groups in loaded.values()]
    class_sets: Dict[str, Optional[List[int]]] = {'mIoU': None}
    if groupings and all(g == groupings[0] for g in groupings):
        class_sets.update({m: groupings[0][m] for m in summary['groups']
                           if m in groupings[0]})
    elif groupings:
        summary['notes'].append('the runs grouped the classes differently '
                                '(different priors): differences in mIoU '
                                'only')
    summary['class_groups'] = None
    if groupings:
        any_sums = next(iter(loaded.values()))[0]
        summary['images'] = any_sums.intersection.shape[0]
        labels = [None] * any_sums.intersection.shape[1]
        for metric, classes in groupings[0].items():
            name = metric[len('mIoU_'):]
            for c in classes:
                if name in ('head', 'body', 'tail'):
                    labels[c] = name
        summary['class_groups'] = labels if None not in labels else None
    else:
        summary['images'] = None
    by_seed = [{seed: loaded[path][0] for seed, path in row['sums'].items()
                if path in loaded} for row in rows]
    if against is None:
        others = [i for i, row in enumerate(rows) if row['method'] == 'ce']
        others.append(summary['order'][0])
    else:
        others = list(against)
    others.extend(also)
    for index, row in enumerate(rows):
        row['differences'] = {}
        for other in dict.fromkeys(others):
            if other == index:
                continue
            label = rows[other]['label']
            try:
                seeds, differences = compare(by_seed[index], by_seed[other],
                                             class_sets, **BOOTSTRAP)
            except UserError as error:  # the rest of the report stands
                summary['notes'].append(
                    f"{row['label']} minus {label}: {error}")
                continue
            dropped = sorted(set(by_seed[index]) ^ set(by_seed[other]))
            note = (f"{label} and {row['label']}" if other < index else
                    f"{row['label']} and {label}") + (
                        f": seed(s) {' '.join(map(str, dropped))} of only "
                        'one of them left out; paired seeds '
                        f"{' '.join(map(str, seeds))}")
            if seeds and dropped and note not in summary['notes']:
                summary['notes'].append(note)
            if seeds:
                row['differences'][label] = dict(seeds=seeds,
                                                 metrics=differences)


def print_differences(summary: Dict[str, Any]) -> None:
    """The differences' markdown table: each method minus CE, minus the
    best and minus each ``--compare-with`` method, ranked, with their
    intervals."""
    pairs = [(summary['rows'][i], label)
             for i in summary['order']
             for label in summary['rows'][i]['differences']]
    for note in summary['notes']:
        print(f'note: {note}')
    if not pairs:
        return
    confidence = BOOTSTRAP['confidence']
    columns = [m for m in summary['groups']
               if any(m in row['differences'][label]['metrics']
                      for row, label in pairs)]
    print(f'\nDifferences in points: the method minus the other, mean over '
          f'the seeds both have, [{100 * confidence:g}% interval of a '
          f'paired bootstrap over the {summary["images"]} evaluation '
          f'images], * the interval excludes 0')
    print('| method | minus | ' + ' | '.join(columns) + ' |')
    print('|---|---|' + '---|' * len(columns))
    best = summary['rows'][summary['order'][0]]['label']
    for row, label in pairs:
        metrics = row['differences'][label]['metrics']
        other = f'{label} (best)' if label == best else label
        print(f"| {row['label']} | {other} | " + ' | '.join(
            difference_cell(metrics.get(m)) for m in columns) + ' |')


def print_table(args: argparse.Namespace, summary: Dict[str, Any]) -> None:
    """The benchmark's markdown tables: the differences, then the table
    ranked by ``--rank-by``."""
    print_differences(summary)
    columns = summary['groups'] + summary['rarest'] + ['time_ratio',
                                                       'memory_ratio']
    print(f'\n{dataset_name(args)}, {model_name(args)}, {args.iters} '
          'iterations, seeds '
          f'{" ".join(map(str, args.seeds))}: mean ± std over seeds, ranked '
          f'by {summary["rank_by"]}; time and memory '
          f'({summary["memory_kind"]}) as ratios to CE')
    print('| method | knob | ' + ' | '.join(columns) + ' |')
    print('|---|---|' + '---|' * len(columns))
    for row in (summary['rows'][i] for i in summary['order']):
        knob = ', '.join(f'{k.rsplit(".", 1)[-1]}={v:g}'
                         for k, v in row['values'].items()) or '-'
        print(f"| {row['label']} | {knob} | " +
              ' | '.join(seed_cells(row, columns)) + ' |')


def seed_cells(row: Dict[str, Any], columns: List[str]) -> List[str]:
    """A summary row's ``mean ± std`` over seeds of each column, as the
    printed tables show them (ratios to 3 decimals, the rest to 2)."""
    return [cell([s.get(c) for s in row['seeds'].values()],
                 3 if c.endswith('ratio') else 2) for c in columns]


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
    if args.dataset_label:
        return args.dataset_label
    if args.data_config:
        return args.data_config
    if args.config_pattern != DEFAULT_PATTERN:
        return f'the data of {args.config_pattern}'
    return 'CamVid at 240x180 (the configs\' data)'


def dataset_name(args: argparse.Namespace) -> str:
    """The data in a result file's title: short, and different for two
    datasets, so that two files' headings (and anchors) differ.

    ``--dataset-label`` where given; else CamVid for the package's configs,
    the ``--data-config`` file's name, or the last ``_`` part of the config
    pattern's file name (the dataset and scale by OpenMMLab's naming, e.g.
    ``ccp-183x277``).
    """
    if args.dataset_label:
        return args.dataset_label
    if args.data_config:
        return osp.splitext(osp.basename(args.data_config))[0]
    if args.config_pattern == DEFAULT_PATTERN:
        return 'CamVid at 240x180'
    stem = osp.splitext(osp.basename(args.config_pattern))[0]
    return stem.rsplit('_', 1)[-1]


def model_name(args: argparse.Namespace) -> str:
    """The model as result files name it: ``--model-label`` or the
    segmentor."""
    return args.model_label or args.segmentor


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
        schema=SCHEMA_VERSION, task='seg',
        dataset=dataset_label(args),
        model=model_name(args),
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
    common = result_header(args)
    rows = []
    for row in summary['rows']:
        entry = dict(label=row['label'],
                     config=method_config(args, row['method']),
                     **recorded_row(row, kept_columns(summary, columns)))
        rows.append(entry)
    bootstrap = bootstrap_record(summary, 'evaluation images')
    if summary['notes']:
        bootstrap['notes'] = '; '.join(summary['notes'])
    write_result(dict(
        common, title=f'Long-tail methods, {dataset_name(args)}, '
        f'{model_name(args)}, {args.iters} iterations', kind='accuracy',
        split='val',
        schedule=f'{args.iters} iterations',
        metrics=summary['groups'] + summary['rarest'] + ['time_ratio',
                                                         'memory_ratio'],
        rank_by=summary['rank_by'], bootstrap=bootstrap,
        rows=rows), args.results_out)
    print(f'\nResult file: {args.results_out}')
    if not args.tuned_from:
        write_tuning_results(args, choices, common)


#: Decimals a result file records of a column (2 for the others).
DIGITS = {'time_ratio': 3, 'memory_ratio': 3, 'step_s': 3, 'peak_mb': 0}


def kept_columns(summary: Dict[str, Any], shown: List[str]) -> List[str]:
    """The columns a result file records per seed: those it shows, then
    every other class's IoU (kept as data, as the schema allows)."""
    return shown + [c for c in summary['class_columns'] if c not in shown]


def recorded_row(row: Dict[str, Any], columns: List[str]) -> Dict[str, Any]:
    """A summary row's recorded fields: ``seeds`` (its columns at their
    precision), ``settings`` (where it differs from its config), ``rank``
    and ``differences`` (where it has any)."""
    entry: Dict[str, Any] = dict(seeds={
        str(seed): {c: recorded(v.get(c), DIGITS.get(c, 2)) for c in columns}
        for seed, v in sorted(row['seeds'].items())})
    if settings_text(row['values']):
        entry['settings'] = settings_text(row['values'])
    entry['rank'] = row['rank']
    if row['differences']:
        entry['differences'] = {
            label: dict(seeds=comparison['seeds'], metrics={
                metric: dict(estimate=recorded(d.estimate, 2),
                             low=recorded(d.low, 2),
                             high=recorded(d.high, 2),
                             significant=d.significant)
                for metric, d in comparison['metrics'].items()})
            for label, comparison in row['differences'].items()}
    return entry


def bootstrap_record(summary: Dict[str, Any], images: str) -> Dict[str, Any]:
    """How a result file's differences were computed (its ``bootstrap``).

    Args:
        summary (dict): The summary (:func:`compare_rows` ran on it).
        images (str): What the resampled images are, e.g. 'evaluation
            images'.
    """
    bootstrap = dict(
        method=f'paired bootstrap: {images} resampled with replacement (the '
        'same draw for both rows and every seed), each run\'s mIoU and '
        'group mIoUs recomputed from its resampled per-image intersection '
        'and union sums, runs paired by seed; percentile interval',
        samples=BOOTSTRAP['num_samples'], confidence=BOOTSTRAP['confidence'],
        seed=BOOTSTRAP['seed'])
    if summary['images'] is not None:
        bootstrap['images'] = summary['images']
    return bootstrap


def tuning_path(results_out: str) -> str:
    """The tuning result file beside ``--results-out``."""
    return results_out[:-len('.json')] + '-tuning.json'


def write_tuning_results(args: argparse.Namespace, choices: Dict[str, dict],
                         common: Dict[str, Any]) -> None:
    """The tuning table as a result file (``-tuning`` before ``.json``)."""
    if not choices:
        return
    plan = TuningPlan(args.holdout_fraction, args.tune_iters, args.tune_seed,
                      args.tune_metric, widen=args.widen)
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
        common, title='Tuning of the long-tail methods, '
        f'{dataset_name(args)}, {model_name(args)}',
        kind='tuning', split=f'held-out {plan.fraction:g} of train '
        '(the last images of each sequence)',
        schedule=f'{plan.iters} iterations', rule=plan.rule, metrics=groups,
        rows=tuning_rows), path)
    print(f'Tuning result file: {path}')


def output_paths(args: argparse.Namespace) -> Tuple[str, str]:
    """The per-class plot and the winner's config: beside the result file
    (``<stem>-classes.png``, ``<stem>-winner.py``), or in ``--work-dir``
    (``benchmark-...``) without ``--results-out``."""
    stem = (args.results_out[:-len('.json')] if args.results_out else
            osp.join(args.work_dir, 'benchmark'))
    return f'{stem}-classes.png', f'{stem}-winner.py'


def write_class_plot(args: argparse.Namespace, summary: Dict[str, Any],
                     results: List[dict], path: str) -> None:
    """The IoU of every class (mean over seeds) against its training
    frequency, one series per method in ranked order
    (:func:`mil_seg.seg.evaluation.plot_class_iou`)."""
    from ..seg.evaluation import plot_class_iou
    first = results[0]
    series = []
    for row in (summary['rows'][i] for i in summary['order']):
        ious = np.array([[np.nan if v is None else v for v in r['iou']]
                         for r in results if r['method'] == row['method']],
                        dtype=float)
        with warnings.catch_warnings():  # a class no seed has an IoU for
            warnings.simplefilter('ignore', RuntimeWarning)
            mean = np.nanmean(ious, axis=0)
        series.append(dict(classes=first['classes'], per_class=dict(IoU=mean),
                           groups=summary['class_groups']))
    seeds = ' '.join(map(str, args.seeds))
    plot_class_iou(series, path, prior_counts=first['prior_counts'],
                   labels=[s['label'] for s in (summary['rows'][i]
                                                for i in summary['order'])],
                   title=f'{dataset_name(args)}, {model_name(args)}, '
                   f'{args.iters} iterations, mean over seeds {seeds}')


def write_winner(args: argparse.Namespace, settings: Settings,
                 summary: Dict[str, Any], runs: Sequence, path: str) -> None:
    """The top-ranked method's config as its runs trained it (its tuned
    values, the data config's substitutions, the budget, the first seed),
    ready to train: :func:`~.run_config.build_run_config` of its evaluated
    run, without the run's output file.

    Args:
        args (argparse.Namespace): The command line.
        settings (Settings): The invocation's settings.
        summary (dict): :func:`summarize`'s.
        runs (Sequence[Run]): The winner's runs of its first seed
            (:func:`~.runs.method_runs`); the last one is evaluated.
        path (str): Where to write it.
    """
    row = summary['rows'][summary['order'][0]]
    run = runs[-1]
    cfg = build_run_config(settings, run)
    for key in ('val_evaluator', 'test_evaluator'):
        cfg[key].pop('output_file', None)  # the run's, in its work dir
    values = settings_text(row['values']) or 'the config\'s own values'
    header = [
        f"# The benchmark's winner by {summary['rank_by']}: "
        f"{row['label']}, at {values}.",
        f'# Its seed-{run.seed} run ({run.iters} iterations), as trained in '
        f'{run.directory}',
        f'# ({args.results_out or "no result file"}); train it with',
        f'#   mil_seg-train {osp.basename(path)}   (or python '
        f'tools/train.py {osp.basename(path)})',
    ]
    if run.extra:
        header.append('# It starts from the previous stage\'s checkpoint '
                      f'of that run: {", ".join(run.extra.values())}')
    atomic_write(path, '\n'.join(header) + '\n' + cfg.pretty_text)


def write_outputs(args: argparse.Namespace, settings: Settings,
                  summary: Dict[str, Any], results: List[dict],
                  runs: List[list]) -> None:
    """The per-class plot and the winner's config (:func:`output_paths`).

    Args:
        args (argparse.Namespace): The command line.
        settings (Settings): The invocation's settings.
        summary (dict): :func:`summarize`'s.
        results (list[dict]): One result per method and seed.
        runs (list[list]): Per method and seed, its runs (``results``'
            order).
    """
    plot, winner = output_paths(args)
    write_class_plot(args, summary, results, plot)
    best = summary['rows'][summary['order'][0]]['method']
    write_winner(args, settings, summary,
                 next(r for r in runs if r[-1].method == best), winner)
    print(f'Per-class plot: {plot}\nWinner\'s config: {winner}')
