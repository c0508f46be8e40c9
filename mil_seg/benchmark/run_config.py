"""The config of a benchmark run: a method's config on the user's data
(:func:`apply_data_config`), its schedule scaled to the budget
(:func:`scale_schedule`), the run's seed, knob values and split."""
import ast
import copy
import os.path as osp
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, List, Optional, Tuple

from ..errors import MissingFileError, UserError
from .methods import DEFAULT_PATTERN, config_path

if TYPE_CHECKING:  # runs imports this module
    from .runs import Run

#: A held-out split: (indices kept for training, indices held out).
Split = Tuple[List[int], List[int]]


@dataclass(frozen=True)
class Settings:
    """What every run of one invocation shares.

    Attributes:
        segmentor (str): ``{segmentor}`` of the config pattern. Defaults to
            'fcn'.
        config_pattern (str): A method's config (see
            :func:`~.methods.config_path`). Defaults to
            :data:`~.methods.DEFAULT_PATTERN`.
        data_config (str, optional): A config whose data, evaluator and
            prior replace the methods' (:func:`apply_data_config`).
            Defaults to None.
        data_root (str, optional): ``data_root`` of every dataset.
            Defaults to None (the configs').
        cfg_options (tuple): ``KEY=VALUE`` overrides of every run. Defaults
            to ().
        threads (int): ``OMP_NUM_THREADS`` of every process. Defaults to 1.
        work_dir (str, optional): The directory every run's lies under: a
            run's signature reads paths under it as relative, so that a
            work directory moved whole keeps its runs
            (:func:`~.runs.signature`). Defaults to None (paths as they
            are).
    """

    segmentor: str = 'fcn'
    config_pattern: str = DEFAULT_PATTERN
    data_config: Optional[str] = None
    data_root: Optional[str] = None
    cfg_options: Tuple[str, ...] = ()
    threads: int = 1
    work_dir: Optional[str] = None

    def config(self, config_name: str) -> str:
        """Path of a config name's config (see
        :func:`~.methods.config_path`)."""
        return config_path(self.config_pattern, self.segmentor, config_name)


def innermost(dataset: dict) -> dict:
    """The dataset a chain of wrappers (``dataset=``) ends in."""
    while 'dataset' in dataset and 'pipeline' not in dataset:
        dataset = dataset['dataset']
    return dataset


def rewrap(wrapped: dict, dataset: dict) -> dict:
    """``wrapped``'s wrappers around another innermost ``dataset``."""
    if 'dataset' not in wrapped or 'pipeline' in wrapped:
        return copy.deepcopy(dataset)
    result = copy.deepcopy(dict(wrapped))
    result['dataset'] = rewrap(wrapped['dataset'], dataset)
    return result


def _replace_prior(node: Any, prior: dict, num_classes: int) -> Any:
    """The model config with every ClassPrior and num_classes replaced."""
    if isinstance(node, dict):
        if node.get('type') == 'ClassPrior':
            new = copy.deepcopy(dict(prior))
            if 'tau' in node:
                new['tau'] = node['tau']
            return new
        return {
            key: (num_classes if key == 'num_classes' and isinstance(
                value, int) else _replace_prior(value, prior, num_classes))
            for key, value in node.items()
        }
    if isinstance(node, (list, tuple)):
        return type(node)(_replace_prior(v, prior, num_classes) for v in node)
    return node


def data_prior(data) -> dict:
    """The ``prior`` of a data config as a ClassPrior dict with
    ``num_classes`` (read from its file or counts when the dict omits it).

    Args:
        data (Config): The data config.

    Returns:
        dict: The ClassPrior dict.

    Raises:
        UserError: For a prior that is not a ClassPrior dict, a shipped
            name or a file, or whose file is missing or malformed.
    """
    from ..gml import build_class_prior
    prior = data.prior
    if isinstance(prior, str):
        prior = dict(type='ClassPrior', file=prior)
    elif hasattr(prior, 'to_dict'):
        prior = prior.to_dict()
    if not isinstance(prior, dict):
        raise UserError(
            f'--data-config {data.filename}: prior is a '
            f'{type(prior).__name__}; give a ClassPrior dict, e.g. '
            "prior = dict(type='ClassPrior', file='my_prior.json')")
    prior = dict(prior)
    if 'num_classes' not in prior:
        # ClassPrior reads the class count from its file or counts
        try:
            prior['num_classes'] = build_class_prior(prior).num_classes
        except MissingFileError as error:
            raise MissingFileError(
                f'--data-config {data.filename}: {error} (a prior file '
                'that the dataset writes on first use does not exist yet: '
                'set num_classes in the prior dict)') from None
    return prior


def check_data_config(data) -> None:
    """Refuse a data config that lacks what :func:`apply_data_config`
    replaces, naming what to define."""
    missing = [k for k in ('train_dataloader', 'val_dataloader',
                           'val_evaluator', 'prior') if k not in data]
    if missing:
        raise UserError(
            f'--data-config {data.filename} lacks {", ".join(missing)}: '
            'define them (train_dataloader, val_dataloader, val_evaluator, '
            "and prior = dict(type='ClassPrior', file=...) written by "
            'tools/analysis/compute_class_prior.py)')


def apply_data_config(cfg, data) -> None:
    """Replace a method config's data, evaluator and prior by a data
    config's.

    The data config holds ``train_dataloader``, ``val_dataloader``
    (``test_dataloader``, optional), ``val_evaluator`` and ``prior`` (a
    ``ClassPrior`` dict; ``num_classes`` is read from its file when
    omitted), and ``crop_size`` (optional). Each ``ClassPrior`` dict of the
    model takes the new prior (keeping its own ``tau``), each
    ``num_classes`` of the model the prior's, and a dataset wrapper of the
    method's (repeat-factor sampling) wraps the new train set.

    Args:
        cfg (Config): The method's config, changed in place.
        data (Config): The data config.

    Raises:
        UserError: For a data config that lacks one of them.
    """
    check_data_config(data)
    train = copy.deepcopy(data.train_dataloader.to_dict())
    train['dataset'] = rewrap(cfg.train_dataloader.dataset.to_dict(),
                              train['dataset'])
    cfg.train_dataloader = train
    cfg.val_dataloader = data.val_dataloader.to_dict()
    cfg.test_dataloader = data.get('test_dataloader',
                                   data.val_dataloader).to_dict()
    cfg.val_evaluator = data.val_evaluator.to_dict()
    cfg.test_evaluator = data.get('test_evaluator',
                                  data.val_evaluator).to_dict()
    prior = data_prior(data)
    cfg.model = _replace_prior(cfg.model.to_dict(), prior,
                               int(prior['num_classes']))
    if 'crop_size' in data and 'data_preprocessor' in cfg.model:
        cfg.model.data_preprocessor.size = tuple(data.crop_size)


def scale_schedule(cfg, iters: int) -> None:
    """The config's iteration schedule scaled to ``iters``; one validation,
    at the end.

    Args:
        cfg (Config): The config, changed in place.
        iters (int): The budget.
    """
    old = int(cfg.train_cfg.get('max_iters', iters))
    factor = iters / max(old, 1)
    schedulers = cfg.get('param_scheduler', [])
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    for scheduler in schedulers:
        for key in ('begin', 'end'):
            if scheduler.get(key):  # a boundary after 0 stays after 0
                scheduler[key] = min(iters,
                                     max(1, round(scheduler[key] * factor)))
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters
    # four checkpoints a run (the last two kept) so that an interrupted
    # run resumes near where it stopped
    cfg.default_hooks.checkpoint.interval = max(1, iters // 4)
    cfg.default_hooks.checkpoint.max_keep_ckpts = 2
    cfg.default_hooks.checkpoint.save_last = True
    logger = cfg.default_hooks.get('logger')
    if logger is not None:
        logger.interval = max(1, min(int(logger.get('interval', 50)),
                                     iters // 4 or 1))


def set_data_root(dataloader: dict, root: str) -> None:
    """Set the innermost dataset's ``data_root``."""
    innermost(dataloader['dataset'])['data_root'] = root


def check_key(cfg, key: str) -> None:
    """Refuse a knob key whose parent is not a dict of the config."""
    node = cfg.to_dict()
    parts = key.split('.')
    for part in parts[:-1]:
        if not isinstance(node, dict) or part not in node:
            raise UserError(
                f'{cfg.filename}: the knob {key} has no {part!r} (this '
                'method\'s config does not have the structure the benchmark '
                'tunes: fix mil_seg.benchmark.METHODS or the config)')
        node = node[part]
    if not isinstance(node, dict):
        raise UserError(f'{cfg.filename}: {key} is not a setting')


def literal(text: str) -> Any:
    """A ``--cfg-options`` value: a Python literal where it parses."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def load_method_config(settings: Settings, config_name: str):
    """A method's config on the benchmark's data (no run's changes yet).

    Args:
        settings (Settings): The invocation's settings.
        config_name (str): The ``{method}`` of the config.

    Returns:
        Config: The config.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(settings.config(config_name))
    if settings.data_config:
        apply_data_config(cfg, Config.fromfile(settings.data_config))
    if settings.data_root:
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            if key in cfg:
                set_data_root(cfg[key], osp.abspath(settings.data_root))
    return cfg


def build_run_config(settings: Settings, run: 'Run',
                     split: Optional[Split] = None):
    """The full config of a run, as trained (also written to its
    directory).

    Args:
        settings (Settings): The invocation's settings.
        run (Run): The run.
        split (tuple, optional): The held-out split of a tuning run.
            Defaults to None.

    Returns:
        Config: The config.
    """
    cfg = load_method_config(settings, run.config_name)
    scale_schedule(cfg, run.iters)
    cfg.randomness = dict(cfg.get('randomness', {}), seed=run.seed)
    for key, value in dict(run.values, **run.extra).items():
        check_key(cfg, key)
        cfg.merge_from_dict({key: value})
    if settings.cfg_options:
        cfg.merge_from_dict({
            k: literal(v) for k, v in
            (option.split('=', 1) for option in settings.cfg_options)})
    if run.tuning:
        kept, held = split
        innermost(cfg.train_dataloader.dataset)['indices'] = kept
        held_out = copy.deepcopy(innermost(cfg.train_dataloader.dataset))
        held_out['indices'] = held
        held_out['pipeline'] = copy.deepcopy(
            innermost(cfg.val_dataloader.dataset)['pipeline'])
        cfg.val_dataloader.dataset = held_out
        cfg.test_dataloader = copy.deepcopy(cfg.val_dataloader)
    cfg.val_evaluator.output_file = osp.join(run.directory, 'per_class.json')
    cfg.test_evaluator = copy.deepcopy(cfg.val_evaluator)
    return cfg


