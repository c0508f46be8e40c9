"""The design study: one method's design choices, each against the method
as shipped, on the split held out from train (val is never read).

    python -m mil_seg.benchmark design --segmentor fcn --iters 800 \\
        --seeds 0 1 --data-root data/camvid \\
        --work-dir work_dirs/design/camvid-fcn-800 \\
        --results-out results/camvid-fcn-800-gml-design.json
    mil_seg-bench design --list           # the choices, one per line

A choice (:class:`Choice`) is the shipped config with one change: other
values of config keys, another method's config (the linear classifier, the
class-weighted supervised term, the two-stage recipe), or the reference's
trained checkpoints evaluated at an inference setting (post-hoc prior
strength). Every choice trains on train minus the held-out part
(``--holdout-fraction``, the last images of each sequence, as tuning
holds out) at each seed of ``--seeds`` and is evaluated on that part. The
table gives each choice's held-out mIoU and class groups (mean and
standard deviation over seeds) and its difference to the reference with
the 95 % interval of the benchmark's paired bootstrap over the held-out
images (:mod:`.bootstrap`); ``*``: the interval excludes 0. It is the
evidence a shipped default is changed on, and, being held out from train,
it leaves val to the verdict of the benchmark itself.

The default choices are :data:`GML_DESIGN`, the segmentation form of GML
that this project designed (the paper publishes no segmentation recipe):
the prior strength below the tuning grid, the supervised term, the
contrastive term's weight, anchors, queue and temperature, the paper's
two-stage recipe and post-hoc prior strength. ``--choices`` runs some of
them; ``--add-choice NAME KEY=VALUE ...`` adds a choice of the user's (its
config values), and ``--method`` studies another method of the benchmark
than GML (with added choices only). A choice without a config under
``--config-pattern`` (a user's pattern may hold only the method itself) is
left out with a note. Runs are kept under ``--work-dir`` and resumed or
read back as the benchmark's are.
"""
import argparse
import os.path as osp
import sys
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from ..errors import UserError
from .methods import METHODS, config_names, config_relpath
from .report import (bootstrap_record, compare_rows, dataset_name,
                     kept_columns, model_name, print_differences,
                     recorded_row, result_header, seed_cells, summary_of)
from .results import write_result
from .run_config import Settings, load_method_config
from .runs import Run, method_result, method_runs, run_all
from .status import write_plan
from .tuning import config_value, holdout_split, train_image_paths

_TAU = 'model.decode_head.prior.tau'
_CLASS_WEIGHTS = 'model.decode_head.loss_gml.class_weight_exponent'
_SUP_ADJUSTMENT = 'model.decode_head.loss_gml.sup_logit_adjustment'
_POSTHOC = 'model.decode_head.posthoc_tau'


@dataclass(frozen=True)
class Choice:
    """One point of a design study.

    Attributes:
        name (str): Its short name (``--choices``, its runs' folder).
        group (str): What it varies, e.g. 'prior strength'.
        label (str): How its row reads.
        method (str): The method whose config it trains (or whose
            reference runs it evaluates, for a method that evaluates
            another's checkpoints). Defaults to 'gml'.
        values (tuple): ``(config key, value)`` pairs it changes. Defaults
            to ().
        match (tuple): Config keys it takes from the reference's config,
            so that another method's config differs in one thing only
            (e.g. the linear classifier at the reference's prior
            strength). Defaults to ().
    """

    name: str
    group: str
    label: str
    method: str = 'gml'
    values: Tuple[Tuple[str, float], ...] = ()
    match: Tuple[str, ...] = ()


#: The shipped config, every other choice's reference.
REFERENCE = Choice('shipped', 'reference', 'GML as shipped')


def reference_of(method: str) -> Choice:
    """The reference of a study of ``method``: its config as shipped."""
    if method == REFERENCE.method:
        return REFERENCE
    return Choice(REFERENCE.name, REFERENCE.group,
                  f'{METHODS[method].label} as shipped', method=method)
#: GML's design choices for segmentation (issue #35's study).
GML_DESIGN: Tuple[Choice, ...] = (
    REFERENCE,
    Choice('tau-0.5', 'prior strength', 'tau 0.5', values=((_TAU, 0.5), )),
    Choice('tau-0.25', 'prior strength', 'tau 0.25',
           values=((_TAU, 0.25), )),
    Choice('tau-0', 'prior strength', 'tau 0 (no logit adjustment)',
           values=((_TAU, 0.0), )),
    Choice('linear', 'supervised term', 'linear classifier',
           method='gml-linear', match=(_TAU, )),
    Choice('cw', 'supervised term',
           'logit-adjusted and class-weighted, exponent 0.5',
           values=((_CLASS_WEIGHTS, 0.5), )),
    Choice('linear-cw', 'supervised term',
           'linear classifier, logit-adjusted and class-weighted, exponent '
           '0.5',
           method='gml-linear', values=((_CLASS_WEIGHTS, 0.5), ),
           match=(_TAU, )),
    # class-weighted CE as the supervised term (weights instead of the
    # adjustment, which the contrast keeps), and that CE alone
    Choice('cw-unadjusted', 'supervised term',
           'class-weighted, exponent 0.5, without logit adjustment',
           values=((_CLASS_WEIGHTS, 0.5), (_SUP_ADJUSTMENT, False))),
    Choice('cwce', 'supervised term',
           'class-weighted CE alone, exponent 0.5 (no contrastive term)',
           method='cwce',
           values=(('model.decode_head.loss_decode.exponent', 0.5), )),
    Choice('con-0.5', 'contrastive weight', 'weight 0.5',
           values=(('model.decode_head.loss_gml.con_weight', 0.5), )),
    Choice('con-2', 'contrastive weight', 'weight 2',
           values=(('model.decode_head.loss_gml.con_weight', 2.0), )),
    Choice('anchors-32', 'anchors', '32 per image',
           values=(('model.decode_head.anchor_sampler.'
                    'max_anchors_per_image', 32), )),
    Choice('anchors-128', 'anchors', '128 per image',
           values=(('model.decode_head.anchor_sampler.'
                    'max_anchors_per_image', 128), )),
    Choice('queue-1024', 'queue', '1024 slots',
           values=(('model.decode_head.queue.size', 1024), )),
    Choice('queue-4096', 'queue', '4096 slots',
           values=(('model.decode_head.queue.size', 4096), )),
    Choice('temp-0.05', 'temperature', 'initial T_c 0.05',
           values=(('model.decode_head.loss_gml.init_temperature', 0.05), )),
    Choice('temp-0.2', 'temperature', 'initial T_c 0.2',
           values=(('model.decode_head.loss_gml.init_temperature', 0.2), )),
    Choice('two-stage', 'recipe', 'two stages (teacher, then student)',
           method='gml-2stage'),
    Choice('posthoc-neg0.5', 'post-hoc prior strength', '-0.5',
           method='gml-posthoc', values=((_POSTHOC, -0.5), )),
    Choice('posthoc-neg0.25', 'post-hoc prior strength', '-0.25',
           method='gml-posthoc', values=((_POSTHOC, -0.25), )),
    Choice('posthoc-0.25', 'post-hoc prior strength', '+0.25',
           method='gml-posthoc', values=((_POSTHOC, 0.25), )),
)


def build_parser() -> argparse.ArgumentParser:
    """The design study's arguments."""
    from .cli import add_run_arguments
    parser = argparse.ArgumentParser(
        prog='mil_seg-bench design', description=__doc__.split('\n')[0])
    parser.add_argument('--choices', nargs='+', default=None,
                        metavar='NAME', help='the choices to run (default: '
                        'all; the reference always runs); --list shows them')
    parser.add_argument('--list', action='store_true',
                        help='print the choices and stop')
    parser.add_argument('--method', default=REFERENCE.method,
                        choices=sorted(m for m in METHODS
                                       if not METHODS[m].evaluates),
                        help='the method studied (default: gml, with its '
                        'built-in choices; another has only --add-choice)')
    parser.add_argument('--add-choice', nargs='+', action='append',
                        default=[], metavar='NAME KEY=VALUE',
                        help='a choice of your own: its name and the config '
                        'values it changes (numbers), e.g. --add-choice '
                        'queue-8192 model.decode_head.queue.size=8192; '
                        'repeat it for several')
    add_run_arguments(parser, work_dir='work_dirs/design',
                      results_help='write the study as a result file '
                      '(results/README.md)')
    return parser


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse and check the command line (``argv`` defaults to
    ``sys.argv[1:]``)."""
    from .cli import check_run_arguments
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = ['design', *argv]
    check_run_arguments(parser, args)
    added = [added_choice(parser, item, args.method)
             for item in args.add_choice]
    args.design = (GML_DESIGN if args.method == REFERENCE.method else
                   (reference_of(args.method), )) + tuple(added)
    if len(args.design) == 1:
        parser.error(f'--method {args.method}: no built-in choices; add '
                     'yours with --add-choice NAME KEY=VALUE ...')
    names = [c.name for c in args.design]
    if len(set(names)) != len(names):
        parser.error('--add-choice: a name that another choice has (those '
                     f'there are: {", ".join(names)})')
    unknown = [n for n in args.choices or () if n not in names]
    if unknown:
        parser.error(f'--choices {" ".join(unknown)}: not a choice (those '
                     f'there are: {", ".join(names)})')
    return args


def added_choice(parser: argparse.ArgumentParser, item: Sequence[str],
                 method: str) -> Choice:
    """A ``--add-choice NAME KEY=VALUE ...`` as a choice of ``method``,
    checked: a name, and at least one dotted key with a number."""
    name, *settings = item
    values = []
    for setting in settings:
        key, _, text = setting.partition('=')
        try:
            values.append((key, float(text)))
        except ValueError:
            key = ''
        if not key:
            parser.error(f'--add-choice {" ".join(item)}: {setting!r} is not '
                         'KEY=NUMBER (e.g. model.decode_head.queue.size=8192)')
    if not values or '=' in name:
        parser.error(f'--add-choice {" ".join(item)}: give a name, then one '
                     'or more KEY=NUMBER')
    return Choice(name, 'added', f'{name} ({", ".join(settings)})',
                  method=method,
                  values=tuple(values))


def selected(names: Optional[Sequence[str]],
             design: Sequence[Choice] = GML_DESIGN) -> List[Choice]:
    """The reference (the design's first choice) and the choices named (all
    without names), in the design's order."""
    wanted = set(names or [c.name for c in design]) | {design[0].name}
    return [c for c in design if c.name in wanted]


def available(choices: Sequence[Choice],
              settings: Settings) -> Tuple[List[Choice], List[str]]:
    """The choices whose configs exist under the settings' pattern, and a
    note for each that has none.

    Raises:
        UserError: When the reference (the first choice) has no config.
    """
    kept, notes = [], []
    for choice in choices:
        missing = [settings.config(n) for n in config_names(choice.method)
                   if not osp.isfile(settings.config(n))]
        if not missing:
            kept.append(choice)
        elif choice is choices[0]:
            raise UserError(f'no config for the reference ({choice.method})'
                            f': {missing[0]} (choose another --segmentor '
                            'or give --config-pattern)')
        else:
            notes.append(f'{choice.group}: {choice.label} left out, no '
                         f'config {missing[0]}')
    return kept, notes


def choice_values(choice: Choice, settings: Settings,
                  reference: Choice = REFERENCE) -> Dict[str, float]:
    """The config values a choice's runs train at: its own, then those it
    takes from the reference's config."""
    values = dict(choice.values)
    if choice.match:
        config = load_method_config(settings,
                                    config_names(reference.method)[-1])
        for key in choice.match:
            value = config_value(config, key)
            if value is None:
                raise UserError(f'the reference config has no {key} for '
                                f'{choice.name} to match')
            values.setdefault(key, value)
    return values


def plan(choices: Sequence[Choice], settings: Settings,
         seeds: Sequence[int], iters: int,
         work_dir: str) -> List[Tuple[Choice, int, List[Run]]]:
    """Every choice's runs at every seed, on the held-out split.

    Args:
        choices (Sequence[Choice]): The choices, the reference first.
        settings (Settings): The invocation's settings.
        seeds (Sequence[int]): The seeds.
        iters (int): The budget of each training.
        work_dir (str): Runs go under ``<work_dir>/<choice>/seed<seed>``.

    Returns:
        list: ``(choice, seed, runs)``; a post-hoc choice evaluates the
        reference's run of its seed.
    """
    planned = []
    for choice in choices:
        values = choice_values(choice, settings, choices[0])
        for seed in seeds:
            evaluated = (osp.join(work_dir, choices[0].name, f'seed{seed}')
                         if METHODS[choice.method].evaluates else None)
            planned.append((choice, seed, method_runs(
                choice.method, seed, iters, values, True,
                osp.join(work_dir, choice.name, f'seed{seed}'), evaluated)))
    return planned


def summarize(planned: List[Tuple[Choice, int, List[Run]]],
              results: List[dict], rank_by: str) -> dict:
    """The rows of the study: each choice's columns by seed, its cost as
    ratios to the reference's and its differences to the reference."""
    rows: Dict[str, dict] = {}
    position = 0
    for choice, seed, runs in planned:
        result = method_result(results[position:position + len(runs)])
        position += len(runs)
        row = rows.setdefault(choice.name, dict(
            method=choice.method, choice=choice,
            label=f'{choice.group}: {choice.label}',
            values=dict(runs[-1].values), results={}))
        row['results'][seed] = result
    ordered = list(rows.values())
    summary = summary_of(ordered, ordered[0]['results'], rank_by)
    compare_rows(summary, against=[0])
    return summary


def print_table(args: argparse.Namespace, summary: dict) -> None:
    """The differences to the reference, then each choice's held-out
    columns in the design's order."""
    print_differences(summary)
    columns = summary['groups'] + summary['rarest'] + ['time_ratio']
    print(f'\nDesign study, {dataset_name(args)}, {model_name(args)}, '
          f'{args.iters} iterations, held-out {args.holdout_fraction:g} of '
          f'train, seeds {" ".join(map(str, args.seeds))}: mean ± std over '
          'seeds; time as a ratio to the reference')
    print('| choice | ' + ' | '.join(columns) + ' |')
    print('|---|' + '---|' * len(columns))
    for row in summary['rows']:
        print(f"| {row['label']} | " + ' | '.join(seed_cells(row, columns)) +
              ' |')


def write_results(args: argparse.Namespace, settings: Settings,
                  summary: dict) -> None:
    """The study as one result file (``kind`` accuracy, ``split`` the
    held-out part), each row with its difference to the reference."""
    columns = summary['groups'] + summary['rarest'] + ['step_s', 'peak_mb',
                                                       'time_ratio']
    rows = []
    for row in summary['rows']:
        choice = row['choice']
        entry = dict(label=row['label'], config=config_relpath(
            settings.config(config_names(choice.method)[-1])),
            **recorded_row(row, kept_columns(summary, columns)))
        if METHODS[choice.method].evaluates:
            entry['settings'] = ', '.join(filter(None, [
                entry.get('settings'),
                'evaluates the reference\'s checkpoints']))
        rows.append(entry)
    bootstrap = bootstrap_record(summary, 'held-out images')
    data = dict(
        result_header(args),
        title=f'Design study of {METHODS[args.method].label}, '
        f'{dataset_name(args)}, {model_name(args)}, {args.iters} '
        'iterations, held-out split',
        kind='accuracy',
        split=f'held-out {args.holdout_fraction:g} of train (the last '
        'images of each sequence; val not read)',
        headers=dict(time_ratio='time vs shipped'),
        schedule=f'{args.iters} iterations',
        metrics=summary['groups'] + summary['rarest'] + ['time_ratio'],
        rank_by=summary['rank_by'], bootstrap=bootstrap, rows=rows)
    if summary['notes']:
        data['notes'] = '; '.join(summary['notes'])
    write_result(data, args.results_out)
    print(f'\nResult file: {args.results_out}')


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run the design study."""
    from .cli import executor_of, settings_of
    args = parse_args(argv)
    choices = selected(args.choices, args.design)
    if args.list:
        for choice in args.design:
            print(f'{choice.name:16} {choice.group}: {choice.label}')
        return
    settings = settings_of(args)
    choices, notes = available(choices, settings)
    for note in notes:
        print(f'note: {note}')
    executor = executor_of(args)
    reference = load_method_config(settings,
                                   config_names(choices[0].method)[-1])
    split = holdout_split(train_image_paths(reference),
                          args.holdout_fraction)
    planned = plan(choices, settings, args.seeds, args.iters, args.work_dir)
    every_run = [run for *_, runs in planned for run in runs]
    write_plan(args.work_dir, every_run,
               jobs=args.jobs if args.executor == 'local' else None)
    results = run_all(settings, executor, every_run, split)
    summary = summarize(planned, results, args.rank_by)
    summary['notes'] = notes + summary['notes']
    print_table(args, summary)
    if args.results_out:
        write_results(args, settings, summary)
