"""Tuning: each method's main knob chosen on a split held out from train,
by one rule, before any seed run reads val.

The split holds out the last images of each sequence (:func:`holdout_split`:
neighbouring video frames do not straddle it). The rule
(:func:`choose`): the highest held-out metric among the knob's values (the
same number of values for every method with a knob), ties to the config's
own value. A choice at the edge of the values tried says the best may lie
past it: the grid is widened there (:func:`past_edge`), one value a round,
up to ``TuningPlan.widen`` values for every method alike, so that no
method, the baselines included, is compared at a value its grid cut off.
The choices are written as a tuning result file and can be read back from
one (:func:`read_tuned_values`).
"""
import copy
import math
import os.path as osp
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..errors import UserError
from .methods import METHODS, config_names, config_relpath
from .results import ResultFileError, load_result
from .run_config import Settings, Split, innermost, load_method_config
from .runs import Executor, Run, method_result, method_runs, run_all


@dataclass(frozen=True)
class TuningPlan:
    """How the knobs are tuned.

    Attributes:
        fraction (float): The held-out share of each sequence of train.
            Defaults to 0.2.
        iters (int): Budget of a trial. Defaults to 800.
        seed (int): Seed of the trials. Defaults to 0.
        metric (str): The held-out metric the rule maximises. Defaults to
            'mIoU'.
        knob_values (tuple): ``(method, values)`` pairs that replace a
            method's grid (:attr:`~.methods.Knob.values`) for a dataset
            where it does not fit, e.g. repeat-factor thresholds on a
            dataset with many classes; each holds as many values as the
            grid it replaces. Defaults to ().
        widen (int): The most values a method's grid is widened by past a
            chosen edge (:func:`past_edge`). Defaults to 2.
    """

    fraction: float = 0.2
    iters: int = 800
    seed: int = 0
    metric: str = 'mIoU'
    knob_values: Tuple[Tuple[str, Tuple[float, ...]], ...] = ()
    widen: int = 2

    def values(self, name: str) -> Tuple[float, ...]:
        """The values tried for method ``name``'s knob."""
        return dict(self.knob_values).get(name, METHODS[name].knob.values)

    @property
    def rule(self) -> str:
        """The rule, as a tuning result file records it."""
        widened = (f', widened past a chosen edge by up to {self.widen} '
                   'values for every method alike' if self.widen else '')
        return (f'highest held-out {self.metric} among the values tried '
                f'(the same number for every method with a knob{widened}); '
                'ties to the config\'s own value')


def holdout_split(paths: Sequence[str], fraction: float) -> Split:
    """Indices kept for training and held out, by sequence.

    Images are grouped by the part of their file name before the first
    ``_`` (one group when there is none), sorted by name, and the last
    ``fraction`` of each group is held out.

    Args:
        paths (Sequence[str]): Image paths of the training set, in order.
        fraction (float): The held-out share of each sequence.

    Returns:
        tuple: (train indices, held-out indices), each sorted.

    Raises:
        UserError: When nothing, or everything, would be held out.
    """
    groups: Dict[str, List[int]] = {}
    for index, path in enumerate(paths):
        name = osp.basename(path)
        groups.setdefault(name.split('_')[0] if '_' in name else '',
                          []).append(index)
    held: List[int] = []
    for members in groups.values():
        members = sorted(members, key=lambda i: osp.basename(paths[i]))
        count = int(round(len(members) * fraction))
        held += members[len(members) - count:] if count else []
    if not held or len(held) == len(paths):
        raise UserError(f'--holdout-fraction {fraction} of {len(paths)} '
                        f'training images holds out {len(held)}: change it')
    held_set = set(held)
    return ([i for i in range(len(paths)) if i not in held_set],
            sorted(held))


def train_image_paths(cfg) -> List[str]:
    """Image paths of the innermost training dataset, in its order."""
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS
    init_default_scope(cfg.get('default_scope', 'mmseg') or 'mmseg')
    dataset_cfg = copy.deepcopy(innermost(cfg.train_dataloader.dataset))
    dataset_cfg = dict(dataset_cfg, pipeline=[], lazy_init=False,
                       serialize_data=False)
    dataset_cfg.pop('indices', None)
    dataset = DATASETS.build(dataset_cfg)
    return [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]


def config_value(cfg, key: str) -> Any:
    """A dotted key's value in a config; None when it has none."""
    node = cfg
    try:
        for part in key.split('.'):
            node = node[part]
    except (KeyError, TypeError):
        return None
    return node


def choose(trials: Dict[float, Dict[str, Optional[float]]], metric: str,
           own: Any = None) -> float:
    """The rule: the value with the highest held-out ``metric`` (an
    undefined one is lowest), ties to the config's ``own`` value, then to
    the first tried."""
    def score(value):
        result = trials[value].get(metric)
        return (-math.inf if result is None else result, value == own)

    return max(trials, key=score)


def past_edge(tried: Sequence[float], chosen: float,
              bounds: Tuple[Optional[float], Optional[float]] = (0.0, None)
              ) -> Optional[float]:
    """The next value to try when the choice is at an edge of the values
    tried; None when it is inside them (or no value is left before a
    bound).

    One step past the edge, at the grid's own spacing there: its ratio for
    a geometric grid of positive values (0.25, 0.5, 1 -> 2), its difference
    otherwise (1, 2, 3 -> 4); a step that would reach a bound of the knob's
    open range goes halfway to it instead (0.5, 0.7, 0.9 below 1 -> 0.95).

    Args:
        tried (Sequence[float]): The values tried, at least two.
        chosen (float): The one chosen.
        bounds (tuple): The knob's open range, (low, high), None where
            unbounded. Defaults to (0.0, None).

    Returns:
        float, optional: The value (6 significant digits), or None.
    """
    values = sorted(set(tried))
    if len(values) < 2 or values[0] < chosen < values[-1]:
        return None
    side = 1 if chosen == values[-1] else -1
    edge, inner = (values[-1], values[-2]) if side > 0 else (values[0],
                                                              values[1])
    ratios = [b / a for a, b in zip(values, values[1:])] if \
        values[0] > 0 else []
    steps = [b - a for a, b in zip(values, values[1:])]
    geometric = len(values) > 2 and all(
        math.isclose(r, ratios[0], rel_tol=1e-6) for r in ratios) and \
        not all(math.isclose(d, steps[0], rel_tol=1e-6) for d in steps)
    beyond = edge * edge / inner if geometric else 2 * edge - inner
    value = float(f'{beyond:.6g}')
    limit = bounds[1] if side > 0 else bounds[0]
    if limit is not None and (value - limit) * side >= 0:
        value = float(f'{(edge + limit) / 2:.6g}')
    return None if value in values else value


def chosen_values(name: str, choices: Dict[str, dict]) -> Dict[str, float]:
    """The knob values a method trains with (inherited ones first, then its
    own)."""
    method = METHODS[name]
    values = {}
    for source in method.inherits + (name, ):
        if source in choices:
            values[choices[source]['key']] = choices[source]['value']
    return values


def tune(settings: Settings, executor: Executor, methods: Sequence[str],
         plan: TuningPlan, work_dir: str) -> Dict[str, dict]:
    """Choose every method's knob on the held-out split.

    Methods that train are tuned first; a method that takes another's
    chosen value as well as tuning its own knob (a combination) is tuned
    after that method, at its chosen value; a method that evaluates
    another's checkpoints (post-hoc) then evaluates that method's chosen
    trial at each of its values, on the same held-out part.

    Args:
        settings (Settings): The invocation's settings.
        executor (Executor): Where the trials run.
        methods (Sequence[str]): The methods (those with a knob are tuned).
        plan (TuningPlan): Split, budget, seed and metric.
        work_dir (str): The benchmark's work dir (trials go under
            ``tuning/``).

    Returns:
        dict: Per tuned method: ``key``, ``name``, ``value`` (chosen),
        ``default`` (the config's), ``trials`` ({value: held-out metrics}).
    """
    tuned = [m for m in methods if METHODS[m].knob]
    if not tuned:
        return {}
    first = load_method_config(settings, config_names(tuned[0])[-1])
    split = holdout_split(train_image_paths(first), plan.fraction)
    choices: Dict[str, dict] = {}
    for phase in tuning_phases(tuned):
        own = {name: config_value(
            load_method_config(settings, config_names(name)[-1]),
            METHODS[name].knob.key) for name in phase}
        by_method: Dict[str, Dict[float, dict]] = {n: {} for n in phase}
        todo = {name: list(plan.values(name)) for name in phase}
        for _ in range(plan.widen + 1):  # the grids, then one value a round
            trial_results(settings, executor, todo, choices, plan, work_dir,
                          split, by_method)
            todo = {}
            for name in phase:
                knob = METHODS[name].knob
                choices[name] = dict(
                    key=knob.key, name=knob.name,
                    value=choose(by_method[name], plan.metric, own[name]),
                    default=own[name], trials=by_method[name])
                if len(by_method[name]) < len(plan.values(name)) + \
                        plan.widen:
                    value = past_edge(list(by_method[name]),
                                      choices[name]['value'], knob.bounds)
                    if value is not None:
                        todo[name] = [value]
            if not todo:
                break
    return choices


def trial_results(settings: Settings, executor: Executor,
                  todo: Dict[str, List[float]], choices: Dict[str, dict],
                  plan: TuningPlan, work_dir: str, split: Split,
                  by_method: Dict[str, Dict[float, dict]]) -> None:
    """Run the trials of ``todo`` (method: values) together, each at the
    values its parents chose, and add their held-out metrics to
    ``by_method`` (method: {value: metrics})."""
    trials = []  # (method, value, runs)
    for name, knob_values in todo.items():
        method = METHODS[name]
        for value in knob_values:
            values = dict(chosen_values(name, choices),
                          **{method.knob.key: value})
            parent = (trial_directory(work_dir, method.evaluates, choices)
                      if method.evaluates else None)
            trials.append((name, value, method_runs(
                name, plan.seed, plan.iters, values, True,
                trial_path(work_dir, name, value), parent)))
    results = run_all(settings, executor,
                      [run for *_, runs in trials for run in runs], split)
    position = 0
    for name, value, runs in trials:
        result = method_result(results[position:position + len(runs)])
        position += len(runs)
        by_method[name][value] = result['metrics']


def tuning_phases(tuned: Sequence[str]) -> List[List[str]]:
    """The tuned methods in the order their trials can run: a method
    after every tuned method it inherits a value from; the methods that
    evaluate another's checkpoints last. Each phase keeps ``tuned``'s
    order."""
    depth: Dict[str, int] = {}

    def depth_of(name: str) -> int:
        if name not in depth:
            parents = [p for p in METHODS[name].inherits if p in tuned]
            depth[name] = 1 + max(map(depth_of, parents), default=-1)
        return depth[name]

    trained = [m for m in tuned if not METHODS[m].evaluates]
    phases: List[List[str]] = []
    for name in trained:
        level = depth_of(name)
        phases += [[] for _ in range(level + 1 - len(phases))]
        phases[level].append(name)
    evaluating = [m for m in tuned if METHODS[m].evaluates]
    return [phase for phase in phases + [evaluating] if phase]


def trial_path(work_dir: str, name: str, value: float) -> str:
    """The directory of a method's tuning trial at one value."""
    return osp.join(work_dir, 'tuning', name, f'{value:g}')


def trial_directory(work_dir: str, name: str,
                    choices: Dict[str, dict]) -> str:
    """The directory of a method's chosen tuning trial (the run a
    post-hoc method's trials evaluate)."""
    return trial_path(work_dir, name, choices[name]['value'])


def planned_trials(methods: Sequence[str], plan: TuningPlan,
                   work_dir: str) -> Tuple[List[Run], Dict[str, List[str]]]:
    """The trainings :func:`tune` will run before any widening, and the
    directories of each method's grid (a trial elsewhere under its
    ``tuning/`` folder is a widened one), for :mod:`.status`'s estimate.

    Returns:
        tuple: (the grid trials that train, {method: its grid's trial
        directories} for the methods whose trials train).
    """
    runs: List[Run] = []
    grids: Dict[str, List[str]] = {}
    for name in methods:
        method = METHODS[name]
        if not method.knob or method.evaluates:
            continue
        grids[name] = [trial_path(work_dir, name, value)
                       for value in plan.values(name)]
        for directory in grids[name]:
            runs += method_runs(name, plan.seed, plan.iters, {}, True,
                                directory)
    return runs, grids


def read_tuned_values(path: str, methods: Sequence[str], dataset: str,
                      settings: Settings) -> Dict[str, dict]:
    """The choices a tuning result file records (``--tuned-from``).

    Args:
        path (str): The tuning result file.
        methods (Sequence[str]): The methods; each one with a knob needs
            one chosen row.
        dataset (str): The data this invocation trains on, as result files
            record it; the file must have been tuned on it.
        settings (Settings): The invocation's settings (which config each
            method's rows name).

    Returns:
        dict: As :func:`tune` returns, read from the file.

    Raises:
        UserError: For a file that is not a tuning result file, one of an
            older schema, one tuned on other data, or one without exactly
            one chosen value of a method of ``methods`` with a knob.
    """
    try:
        data = load_result(path)
    except OSError as error:
        raise UserError(f'--tuned-from {path}: {error}') from None
    except ResultFileError as error:
        raise ResultFileError(f'--tuned-from {error}') from None
    if data['kind'] != 'tuning':
        raise UserError(f'--tuned-from {path} is a {data["kind"]!r} file: '
                        'give the -tuning.json that --tune or --tune-only '
                        'wrote')
    if data['dataset'] != dataset:
        raise UserError(
            f'--tuned-from {path} tuned on {data["dataset"]!r}, this run '
            f'trains on {dataset!r}: give the --data-config (or '
            '--dataset-label) it was tuned with, or tune on this data '
            '(--tune-only)')
    choices: Dict[str, dict] = {}
    for name in methods:
        knob = METHODS[name].knob
        if knob is None:
            continue
        config = config_relpath(settings.config(config_names(name)[-1]))
        trials, chosen = {}, []
        for row in data['rows']:
            if row['config'] != config:
                continue
            key, value = tuned_setting(path, row)
            if key != knob.key:
                continue
            trials[value] = {m: None if v is None else float(v)
                             for seed in row['seeds'].values()
                             for m, v in seed.items()}
            if row.get('chosen'):
                chosen.append(value)
        if len(chosen) != 1:
            raise UserError(
                f'--tuned-from {path} has {len(chosen)} chosen values of '
                f'{knob.key} for {config} ({name}), not one: tune it '
                f'(--tune-only --methods {name}) or drop it from --methods')
        choices[name] = dict(key=knob.key, name=knob.name, value=chosen[0],
                             default=None, trials=trials)
    return choices


def tuned_setting(path: str, row: dict) -> Tuple[str, float]:
    """The knob and its value a tuning file's row trained with: the last
    ``key=number`` of its ``settings`` (a trial's inherited values come
    first, as :func:`settings_text` writes them).

    Raises:
        UserError: For a row whose ``settings`` does not end in one
            ``key=number``.
    """
    last = (row.get('settings') or '').split(', ')[-1]
    key, _, value = last.partition('=')
    try:
        return key, float(value)
    except ValueError:
        raise UserError(
            f'--tuned-from {path}: row {row["label"]!r} has settings '
            f'{row.get("settings")!r}, not key=number as a tuning trial is '
            'written: give the file --tune or --tune-only wrote') from None


def settings_text(values: Dict[str, float]) -> Optional[str]:
    """How a row's run differs from its config, for a result file (numbers
    in their shortest form, switches as ``True`` / ``False``)."""
    return ', '.join(f'{k}={v}' if isinstance(v, bool) else f'{k}={v:g}'
                     for k, v in values.items()) or None
