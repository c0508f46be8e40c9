"""Tuning: each method's main knob chosen on a split held out from train,
by one rule, before any seed run reads val.

The split holds out the last images of each sequence (:func:`holdout_split`:
neighbouring video frames do not straddle it). The rule
(:func:`choose`): the highest held-out metric among the knob's values (the
same number of values for every method with a knob), ties to the config's
own value. The choices are written as a tuning result file and can be read
back from one (:func:`read_tuned_values`).
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
from .runs import Executor, method_result, method_runs, run_all


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
    """

    fraction: float = 0.2
    iters: int = 800
    seed: int = 0
    metric: str = 'mIoU'
    knob_values: Tuple[Tuple[str, Tuple[float, ...]], ...] = ()

    def values(self, name: str) -> Tuple[float, ...]:
        """The values tried for method ``name``'s knob."""
        return dict(self.knob_values).get(name, METHODS[name].knob.values)

    @property
    def rule(self) -> str:
        """The rule, as a tuning result file records it."""
        return (f'highest held-out {self.metric} among the values tried '
                '(the same number for every method with a knob); ties to the '
                'config\'s own value')


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
        trials = []  # (method, value, runs)
        for name in phase:
            method = METHODS[name]
            for value in plan.values(name):
                values = dict(chosen_values(name, choices),
                              **{method.knob.key: value})
                parent = (trial_directory(work_dir, method.evaluates,
                                          choices) if method.evaluates
                          else None)
                trials.append((name, value, method_runs(
                    name, plan.seed, plan.iters, values, True,
                    osp.join(work_dir, 'tuning', name, f'{value:g}'),
                    parent)))
        results = run_all(settings, executor,
                          [run for *_, runs in trials for run in runs],
                          split)
        by_method: Dict[str, Dict[float, dict]] = {}
        position = 0
        for name, value, runs in trials:
            result = method_result(results[position:position + len(runs)])
            position += len(runs)
            by_method.setdefault(name, {})[value] = result['metrics']
        for name in phase:
            knob = METHODS[name].knob
            own = config_value(
                load_method_config(settings, config_names(name)[-1]),
                knob.key)
            choices[name] = dict(
                key=knob.key, name=knob.name,
                value=choose(by_method[name], plan.metric, own),
                default=own, trials=by_method[name])
    return choices


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


def trial_directory(work_dir: str, name: str,
                    choices: Dict[str, dict]) -> str:
    """The directory of a method's chosen tuning trial (the run a
    post-hoc method's trials evaluate)."""
    return osp.join(work_dir, 'tuning', name,
                    f"{choices[name]['value']:g}")


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
