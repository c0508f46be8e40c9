"""The long-tailed segmentation benchmark: methods x seeds, one budget, one
table.

    python tools/benchmarks/long_tail_seg.py --methods ce lace gml \\
        --segmentor fcn --iters 800 --seeds 0 1 2 --tune \\
        --data-root data/camvid --work-dir work_dirs/lt-bench/fcn-800 \\
        --results-out results/camvid-lt-fcn-800.json

Every method is a config (``--config-pattern``, by default the CamVid tiny
configs ``configs/gml_seg/{segmentor}-{method}_r18-tiny-d8_1xb8-1k_camvid-
240x180.py``), trained through the real ``tools/train.py`` with one budget
(``--iters``: the config's schedule scaled to it) and each seed of
``--seeds``, evaluated on the val split by the config's
``LongTailIoUMetric`` once at the end of training. It prints one table:
mean and sample standard deviation over seeds of mIoU and of each class
group (head / body / tail by pixel share; frequent / common / rare by
image frequency where the metric reports them), the IoU of the five rarest
classes of the training prior, and the step time and peak memory of each
method as ratios to cross-entropy's (``ce``) in the same run.

Another dataset: ``--data-config FILE`` names a config holding
``train_dataloader``, ``val_dataloader`` (``test_dataloader``, optional),
``val_evaluator`` and ``prior`` (its ``ClassPrior`` dict, e.g. the file
``tools/analysis/compute_class_prior.py`` wrote), and ``crop_size``
(optional). They replace those of every method's config: each
``ClassPrior`` dict of the model takes the new prior's source (keeping its
own ``tau``), each ``num_classes`` of the model the prior's, a dataset
wrapper of the method's (repeat-factor sampling) wraps the new train set.

Tuning (``--tune``): each method's main knob (:data:`METHODS`) is chosen
among at most three values, the same number for every method that has a
knob, by one rule (the highest ``--tune-metric`` on the held-out split;
ties to the config's own value): each value trains on the training set
minus a held-out part (``--holdout-fraction`` of the images, the last ones
of each sequence: images are grouped by the part of their file name before
the first ``_``, sorted by name, so neighbouring video frames do not
straddle the split) and is evaluated on that part, val never read. The
chosen values and the rule go into the tuning result file
(``--results-out`` with ``-tuning`` before ``.json``). ``--tune-only``
stops there, so tuning and the seeds' runs can be spread over machines or
days: a later ``--tune`` run with the same ``--work-dir`` reads the trials
back and trains only the seeds. ``--tuned-from FILE`` trains at the
values a tuning result file records as chosen (e.g. one kept in
``results/``, whose trials' directories are gone), for every method of
``--methods`` with a knob; the file must hold a chosen row for each.

An interrupted benchmark continues where it stopped: every run has its own
directory under ``--work-dir`` with the exact config it trains; a run
whose result is there is read back, an unfinished one resumes from its
last checkpoint. A directory holding a run of other settings is refused
rather than overwritten.

Times: ``--jobs N`` runs N trainings at a time, each with ``--threads``
threads; step time is the mean of mmengine's logged per-iteration time
(the first logged window, warm-up, left out), peak memory the CUDA peak
that mmengine logs, else the peak RSS of the training process tree. The
ratios compare runs of one invocation, measured alike.
"""
import argparse
import copy
import glob
import hashlib
import json
import math
import os
import os.path as osp
import platform
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tools', 'analysis'))
import render_model_zoo as zoo  # noqa: E402

DEFAULT_PATTERN = osp.join('configs', 'gml_seg', '{segmentor}-{method}_'
                           'r18-tiny-d8_1xb8-1k_camvid-240x180.py')
#: Group metrics of LongTailIoUMetric, in table order.
GROUP_METRICS = ('mIoU', 'mIoU_head', 'mIoU_body', 'mIoU_tail',
                 'mIoU_frequent', 'mIoU_common', 'mIoU_rare')
NUM_RAREST = 5


@dataclass(frozen=True)
class Knob:
    """A method's main hyper-parameter, tuned on the held-out split.

    Attributes:
        name (str): What it is, for the table.
        key (str): Its dotted config key.
        values (tuple): The values tried (three at most).
    """

    name: str
    key: str
    values: Tuple[float, ...]


@dataclass(frozen=True)
class Method:
    """One method of the benchmark.

    Attributes:
        label (str): Its row label.
        knob (Knob, optional): Its main knob; None when it has none.
        inherits (tuple): Methods whose chosen knob values it takes (a
            combination), instead of tuning a knob of its own.
    """

    label: str
    knob: Optional[Knob] = None
    inherits: Tuple[str, ...] = field(default_factory=tuple)


_TAU_VALUES = (0.5, 0.75, 1.0)
_GML_TAU = Knob('prior strength tau', 'model.decode_head.prior.tau',
                _TAU_VALUES)
_RFS = Knob('repeat threshold t', 'train_dataloader.dataset.threshold',
            (0.5, 0.75, 1.0))
#: The methods, by the name their configs carry.
METHODS: Dict[str, Method] = {
    'ce': Method('CE'),
    'lace': Method('LA-CE', Knob('prior strength tau',
                                 'model.decode_head.loss_decode.prior.tau',
                                 _TAU_VALUES)),
    'cwce': Method('Class-weighted CE', Knob(
        'weight exponent', 'model.decode_head.loss_decode.exponent',
        (0.25, 0.5, 1.0))),
    'focal': Method('Focal', Knob('gamma',
                                  'model.decode_head.loss_decode.gamma',
                                  (1.0, 2.0, 3.0))),
    'ohem': Method('OHEM', Knob('probability threshold',
                                'model.decode_head.sampler.thresh',
                                (0.5, 0.7, 0.9))),
    'lovasz': Method('Lovasz-softmax'),
    'blv': Method('BLV', Knob('sigma', 'model.decode_head.loss_decode.sigma',
                              (2.0, 4.0, 6.0))),
    'seesaw': Method('Seesaw', Knob('mitigation p',
                                    'model.decode_head.loss_decode.p',
                                    (0.4, 0.8, 1.2))),
    'rr': Method('Region Rebalance', Knob('region weight',
                                          'model.decode_head.region_weight',
                                          (0.5, 1.0, 2.0))),
    'rfs': Method('CE + repeat-factor sampling', _RFS),
    'gml': Method('GML (per-class T_c)', _GML_TAU),
    'gml-shared': Method('GML (shared T_c)', _GML_TAU),
    'gml-rfs': Method('GML + repeat-factor sampling',
                      inherits=('gml', 'rfs')),
}


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--methods', nargs='+', default=['ce', 'lace', 'gml'],
                        choices=sorted(METHODS))
    parser.add_argument('--segmentor', default='fcn',
                        help='{segmentor} of --config-pattern')
    parser.add_argument('--config-pattern', default=DEFAULT_PATTERN,
                        help='config path of a method, with {segmentor} and '
                        '{method}')
    parser.add_argument('--data-config', default=None,
                        help='a config whose data, evaluator and prior '
                        'replace the methods\' (see above)')
    parser.add_argument('--data-root', default=None,
                        help='data_root of every dataset (default: the '
                        'configs\')')
    parser.add_argument('--iters', type=int, default=800)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--tune', action='store_true',
                        help='choose each knob on the held-out split first')
    parser.add_argument('--tune-only', action='store_true',
                        help='tune, write the tuning table and stop (a '
                        'later --tune run with this --work-dir reads the '
                        'trials back); --seeds unused')
    parser.add_argument('--tuned-from', default=None, metavar='FILE',
                        help='train at the values a tuning result file '
                        'chose (see above), instead of --tune')
    parser.add_argument('--tune-iters', type=int, default=None,
                        help='budget of a tuning run (default: --iters)')
    parser.add_argument('--tune-seed', type=int, default=0)
    parser.add_argument('--tune-metric', default='mIoU',
                        help='the held-out metric the rule maximises')
    parser.add_argument('--holdout-fraction', type=float, default=0.2)
    parser.add_argument('--work-dir', default='work_dirs/long_tail_seg')
    parser.add_argument('--jobs', type=int, default=1,
                        help='trainings run at a time')
    parser.add_argument('--threads', type=int, default=1,
                        help='OMP_NUM_THREADS of every training')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='KEY=VALUE overrides of every run (values are '
                        'read as Python literals where they parse)')
    parser.add_argument('--model-label', default=None,
                        help='the model as result files name it, e.g. '
                        '"tiny FCN" (default: --segmentor)')
    parser.add_argument('--results-out', default=None,
                        help='write the table (and the tuning table) as '
                        'result files (results/README.md)')
    args = parser.parse_args(argv)
    if args.tune_only:
        args.tune = True
    if args.tune_iters is None:
        args.tune_iters = args.iters
    if args.tuned_from and args.tune:
        parser.error('--tuned-from reads values another run chose: give it '
                     'or --tune/--tune-only, not both')
    if args.tune_only and not any(METHODS[m].knob for m in args.methods):
        parser.error('--tune-only: none of --methods has a knob to tune '
                     '(methods with one: ' + ', '.join(
                         m for m in METHODS if METHODS[m].knob) + '); add '
                     'one, or drop --tune-only to train the methods')
    if not 0 < args.holdout_fraction < 1:
        parser.error('--holdout-fraction must be in (0, 1)')
    if 'ce' not in args.methods and not args.tune_only:
        print('warning: ce is not in --methods: the time and memory ratios, '
              'which divide by CE runs of the same invocation and seeds, '
              'will be n/a (add ce to --methods; a finished CE run in '
              '--work-dir is read back, not retrained)', file=sys.stderr)
    for name in args.methods:
        for parent in METHODS[name].inherits:
            if parent not in args.methods:
                parser.error(f'{name} takes the chosen values of {parent}: '
                             f'add {parent} to --methods')
    return args


# ----------------------------------------------------------------- configs
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


def apply_data_config(cfg, data) -> None:
    """Replace a method config's data, evaluator and prior (see above)."""
    missing = [k for k in ('train_dataloader', 'val_dataloader',
                           'val_evaluator', 'prior') if k not in data]
    if missing:
        raise SystemExit(f'error: --data-config {data.filename} lacks '
                         f'{", ".join(missing)}: define them (see the '
                         'docstring of tools/benchmarks/long_tail_seg.py)')
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
    prior = data.prior.to_dict()
    cfg.model = _replace_prior(cfg.model.to_dict(), prior,
                               int(prior['num_classes']))
    if 'crop_size' in data and 'data_preprocessor' in cfg.model:
        cfg.model.data_preprocessor.size = tuple(data.crop_size)


def scale_schedule(cfg, iters: int) -> None:
    """The config's iteration schedule scaled to ``iters``; one validation,
    at the end."""
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
            raise SystemExit(
                f'error: {cfg.filename}: the knob {key} has no {part!r} '
                '(this method\'s config does not have the structure the '
                'benchmark tunes: fix METHODS or the config)')
        node = node[part]
    if not isinstance(node, dict):
        raise SystemExit(f'error: {cfg.filename}: {key} is not a setting')


def literal(text: str) -> Any:
    """A ``--cfg-options`` value: a Python literal where it parses."""
    import ast
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


@dataclass
class Run:
    """One training: a method, a seed, a knob value, train/eval split."""

    method: str
    seed: int
    iters: int
    values: Dict[str, float]
    tuning: bool
    directory: str


def method_config_path(args: argparse.Namespace, method: str) -> str:
    """Path of a method's config (it must exist)."""
    path = args.config_pattern.format(segmentor=args.segmentor,
                                      method=method)
    path = path if osp.isabs(path) else osp.join(REPO, path)
    if not osp.isfile(path):
        raise SystemExit(f'error: no config for method {method!r} of '
                         f'--segmentor {args.segmentor}: {path} (drop it '
                         'from --methods or give --config-pattern)')
    return path


def holdout_split(paths: Sequence[str],
                  fraction: float) -> Tuple[List[int], List[int]]:
    """Indices kept for training and held out, by sequence (see above).

    Args:
        paths (Sequence[str]): Image paths of the training set, in order.
        fraction (float): The held-out share of each sequence.

    Returns:
        tuple: (train indices, held-out indices), each sorted.
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
        raise SystemExit(f'error: --holdout-fraction {fraction} of '
                         f'{len(paths)} training images holds out '
                         f'{len(held)}: change it')
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


def build_run_config(args: argparse.Namespace, run: Run,
                     split: Optional[Tuple[List[int], List[int]]]):
    """The full config of a run, as trained (also written to its dir)."""
    from mmengine.config import Config
    cfg = Config.fromfile(method_config_path(args, run.method))
    if args.data_config:
        apply_data_config(cfg, Config.fromfile(args.data_config))
    if args.data_root:
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            set_data_root(cfg[key], osp.abspath(args.data_root))
    scale_schedule(cfg, run.iters)
    cfg.randomness = dict(cfg.get('randomness', {}), seed=run.seed)
    for key, value in run.values.items():
        check_key(cfg, key)
        cfg.merge_from_dict({key: value})
    if args.cfg_options:
        cfg.merge_from_dict({
            k: literal(v) for k, v in
            (option.split('=', 1) for option in args.cfg_options)})
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


# -------------------------------------------------------------------- runs
def child_env(threads: int) -> dict:
    """Environment of a training process (threads pinned)."""
    env = dict(os.environ)
    for key in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
        env[key] = str(threads)
    env['PYTHONPATH'] = os.pathsep.join(
        [REPO, env.get('PYTHONPATH', '')]).rstrip(os.pathsep)
    return env


def run_process(command: List[str], env: dict, log_file: str) -> Tuple:
    """Run a command into a log; (exit code, seconds, peak RSS in MB)."""
    start = time.perf_counter()
    with open(log_file, 'a', encoding='utf-8') as log:
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    return (os.waitstatus_to_exitcode(status), time.perf_counter() - start,
            usage.ru_maxrss / 1024)


def logged_scalars(directory: str) -> Tuple[Optional[float],
                                            Optional[float]]:
    """Mean step time (s) and CUDA peak memory (MB) from mmengine's logs."""
    times, memory = [], []
    for path in sorted(glob.glob(osp.join(directory, '*', 'vis_data',
                                          'scalars.json'))):
        rows = []
        with open(path, encoding='utf-8') as f:
            for line in f:
                row = json.loads(line)
                if 'time' in row and 'iter' in row:
                    rows.append(row)
        times += [row['time'] for row in rows[1:]]
        memory += [row['memory'] for row in rows if 'memory' in row]
    return (statistics.fmean(times) if times else None,
            max(memory) if memory else None)


def signature(cfg_text: str) -> str:
    """Hash of a run's config text (what makes two runs the same)."""
    return hashlib.sha256(cfg_text.encode()).hexdigest()[:16]


def prepare(args: argparse.Namespace, run: Run,
            split: Optional[Tuple[List[int], List[int]]]) -> Optional[dict]:
    """Write a run's config into its directory; its result if it has one.

    Configs are built here, in the main thread (mmengine's config loading
    is not thread-safe); only the trainings run in parallel.
    """
    from mmengine.config import Config  # noqa: F401  (loaded once here)
    os.makedirs(run.directory, exist_ok=True)
    text = build_run_config(args, run, split).pretty_text
    sig = signature(text)
    state_file = osp.join(run.directory, 'state.json')
    if osp.isfile(state_file):
        with open(state_file, encoding='utf-8') as f:
            if json.load(f)['signature'] != sig:
                raise SystemExit(
                    f'error: {run.directory} holds a run of other '
                    'settings: give another --work-dir or delete that '
                    'directory')
    else:
        with open(state_file, 'w', encoding='utf-8') as f:
            json.dump({'signature': sig, 'attempts': []}, f, indent=1)
    result_file = osp.join(run.directory, 'result.json')
    if osp.isfile(result_file):
        with open(result_file, encoding='utf-8') as f:
            return json.load(f)
    with open(osp.join(run.directory, 'config.py'), 'w',
              encoding='utf-8') as f:
        f.write(text)
    return None


def execute(args: argparse.Namespace, run: Run) -> dict:
    """Train a prepared run (resuming an interrupted one); its result."""
    config_file = osp.join(run.directory, 'config.py')
    state_file = osp.join(run.directory, 'state.json')
    with open(state_file, encoding='utf-8') as f:
        state = json.load(f)
    resume = osp.isfile(osp.join(run.directory, 'last_checkpoint'))
    name = f'{run.method} seed {run.seed} {run.values or ""}'.strip()
    print(f'[{name}] {"resuming" if resume else "training"} '
          f'{run.iters} iterations in {run.directory}', flush=True)
    command = [sys.executable, osp.join(REPO, 'tools', 'train.py'),
               config_file, '--work-dir', run.directory]
    if resume:
        command.append('--resume')
    code, seconds, peak_rss = run_process(command, child_env(args.threads),
                                          osp.join(run.directory,
                                                   'train.out'))
    state['attempts'].append(dict(seconds=seconds, peak_rss_mb=peak_rss,
                                  exit_code=code))
    with open(state_file, 'w', encoding='utf-8') as f:
        json.dump(state, f, indent=1)
    per_class_file = osp.join(run.directory, 'per_class.json')
    checkpoint = osp.join(run.directory, f'iter_{run.iters}.pth')
    if code == 0 and not osp.isfile(per_class_file) and osp.isfile(
            checkpoint):
        # trained before an interruption, not evaluated: test
        code, _, _ = run_process(
            [sys.executable, osp.join(REPO, 'tools', 'test.py'), config_file,
             checkpoint, '--work-dir', osp.join(run.directory, 'test')],
            child_env(args.threads), osp.join(run.directory, 'test.out'))
    if code != 0 or not osp.isfile(per_class_file):
        with open(osp.join(run.directory, 'train.out'),
                  encoding='utf-8') as f:
            tail = f.read()[-3000:]
        raise SystemExit(f'error: [{name}] failed ({code}); its log, '
                         f'{run.directory}/train.out, ends:\n{tail}')
    with open(per_class_file, encoding='utf-8') as f:
        per_class = json.load(f)
    step_s, cuda_mb = logged_scalars(run.directory)
    result = dict(
        method=run.method, seed=run.seed, iters=run.iters,
        values=run.values, tuning=run.tuning,
        metrics=per_class['metrics'], classes=per_class['classes'],
        iou=per_class['per_class']['IoU'],
        prior_counts=per_class['prior_counts'],
        step_s=step_s,
        peak_mb=cuda_mb if cuda_mb is not None else max(
            a['peak_rss_mb'] for a in state['attempts']),
        memory_kind='cuda' if cuda_mb is not None else 'rss',
        train_seconds=sum(a['seconds'] for a in state['attempts']))
    with open(osp.join(run.directory, 'result.json'), 'w',
              encoding='utf-8') as f:
        json.dump(result, f, indent=1)
    return result


def run_all(args: argparse.Namespace, runs: List[Run],
            split=None) -> List[dict]:
    """Execute runs, ``--jobs`` at a time, results in the runs' order."""
    results: List[Optional[dict]] = [prepare(args, run, split)
                                     for run in runs]
    todo = [i for i, result in enumerate(results) if result is None]
    for index in set(range(len(runs))) - set(todo):
        print(f'[{runs[index].method} seed {runs[index].seed}] read back '
              f'from {runs[index].directory}', flush=True)
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        for index, result in zip(todo, pool.map(
                lambda i: execute(args, runs[i]), todo)):
            results[index] = result
    return results


# ------------------------------------------------------------------ tuning
def tune(args: argparse.Namespace) -> Dict[str, dict]:
    """Choose every method's knob on the held-out split (see above).

    Returns:
        dict: Per method: ``key``, ``value`` (chosen), ``default``,
        ``trials`` ({value: held-out metrics}); inherited methods only
        ``values``.
    """
    from mmengine.config import Config
    tuned = {m: METHODS[m] for m in args.methods if METHODS[m].knob}
    if not tuned:
        return {}
    first = Config.fromfile(method_config_path(args, next(iter(tuned))))
    if args.data_config:
        apply_data_config(first, Config.fromfile(args.data_config))
    if args.data_root:
        set_data_root(first.train_dataloader, osp.abspath(args.data_root))
    split = holdout_split(train_image_paths(first), args.holdout_fraction)
    runs = []
    for name, method in tuned.items():
        for value in method.knob.values:
            runs.append(Run(name, args.tune_seed, args.tune_iters,
                            {method.knob.key: value}, True,
                            osp.join(args.work_dir, 'tuning', name,
                                     f'{value:g}')))
    results = run_all(args, runs, split)
    choices: Dict[str, dict] = {}
    for name, method in tuned.items():
        default = Config.fromfile(method_config_path(args, name))
        try:
            own = default
            for part in method.knob.key.split('.'):
                own = own[part]
        except (KeyError, TypeError):
            own = None
        trials = {r['values'][method.knob.key]: r['metrics']
                  for r in results if r['method'] == name}

        def score(value, trials=trials, own=own):
            metric = trials[value].get(args.tune_metric)
            return (-math.inf if metric is None else metric, value == own)

        best = max(trials, key=score)
        choices[name] = dict(key=method.knob.key, name=method.knob.name,
                             value=best, default=own, trials=trials)
    return choices


def read_tuned_values(args: argparse.Namespace) -> Dict[str, dict]:
    """The choices of a tuning result file (``--tuned-from``).

    Returns:
        dict: As :func:`tune` returns, read from the file: per method with
        a knob, its chosen value and every trial's held-out metrics.

    Raises:
        SystemExit: For a file that is not a tuning result file, one
            tuned on other data than this run's, or one that has no chosen
            value of a method of ``--methods`` with a knob.
    """
    path = args.tuned_from
    try:
        data = zoo.load_result(path)
    except (OSError, zoo.ResultFileError) as error:
        raise SystemExit(f'error: --tuned-from {path}: {error}')
    if data['kind'] != 'tuning':
        raise SystemExit(f'error: --tuned-from {path} is a {data["kind"]!r} '
                         'file: give the -tuning.json that --tune or '
                         '--tune-only wrote')
    dataset = dataset_label(args)
    if data['dataset'] != dataset:
        raise SystemExit(
            f'error: --tuned-from {path} tuned on {data["dataset"]!r}, this '
            f'run trains on {dataset!r}: give the --data-config it was '
            'tuned with, or tune on this data (--tune-only)')
    choices: Dict[str, dict] = {}
    for name in args.methods:
        knob = METHODS[name].knob
        if knob is None:
            continue
        config = config_relpath(args, name)
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
            raise SystemExit(
                f'error: --tuned-from {path} has {len(chosen)} chosen '
                f'values of {knob.key} for {config} ({name}), not one: tune '
                f'it (--tune-only --methods {name}) or drop it from '
                '--methods')
        choices[name] = dict(key=knob.key, name=knob.name, value=chosen[0],
                             default=None, trials=trials)
    return choices


def tuned_setting(path: str, row: dict) -> Tuple[str, float]:
    """The one knob and its value a tuning file's row trained with.

    Raises:
        SystemExit: For a row whose ``settings`` is not one
            ``key=number``, as :func:`settings_text` writes a trial's.
    """
    key, _, value = (row.get('settings') or '').partition('=')
    try:
        return key, float(value)
    except ValueError:
        raise SystemExit(
            f'error: --tuned-from {path}: row {row["label"]!r} has settings '
            f'{row.get("settings")!r}, not one key=number as a tuning '
            'trial is written: give the file --tune or --tune-only wrote')


def chosen_values(name: str, choices: Dict[str, dict]) -> Dict[str, float]:
    """The knob values a method trains with (its own, or inherited)."""
    method = METHODS[name]
    values = {}
    for source in (name, ) + method.inherits:
        if source in choices:
            values[choices[source]['key']] = choices[source]['value']
    return values


# ------------------------------------------------------------------- table
def mean_std(values: List[Optional[float]]) -> Tuple[Optional[float],
                                                       Optional[float]]:
    """Mean and sample standard deviation of the defined values."""
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    return (statistics.fmean(values),
            statistics.stdev(values) if len(values) > 1 else None)


def cell(values: List[Optional[float]], digits: int = 2) -> str:
    """``mean ± std`` of seeds (``n/a`` when none is defined)."""
    mean, std = mean_std(values)
    if mean is None:
        return 'n/a'
    return f'{mean:.{digits}f}' + ('' if std is None else
                                   f' ± {std:.{digits}f}')


def reported_groups(metrics: List[Dict[str, float]]) -> List[str]:
    """The group metrics (:data:`GROUP_METRICS` order) any run reported."""
    return [m for m in GROUP_METRICS if any(m in d for d in metrics)]


def summarize(args: argparse.Namespace, results: List[dict],
              choices: Dict[str, dict]) -> Dict[str, Any]:
    """Per method the seeds' values of every table column."""
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


def config_relpath(args: argparse.Namespace, method: str) -> str:
    """A method's config, from the repository root."""
    return osp.relpath(method_config_path(args, method),
                       REPO).replace(os.sep, '/')


def settings_text(values: Dict[str, float]) -> Optional[str]:
    """How a row's run differs from its config, for a result file."""
    return ', '.join(f'{k}={v:g}' for k, v in values.items()) or None


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
        entry = dict(label=row['label'], config=config_relpath(
            args, row['method']), seeds={
                str(seed): {c: zoo.recorded(v.get(c), digits.get(c, 2))
                            for c in columns}
                for seed, v in sorted(row['seeds'].items())})
        if settings_text(row['values']):
            entry['settings'] = settings_text(row['values'])
        rows.append(entry)
    zoo.write_result(dict(
        common, title=f'Long-tail methods, {args.segmentor}, {args.iters} '
        'iterations', kind='accuracy', split='val',
        schedule=f'{args.iters} iterations',
        metrics=summary['groups'] + summary['rarest'] + ['time_ratio',
                                                         'memory_ratio'],
        rows=rows), args.results_out)
    print(f'\nResult file: {args.results_out}')
    if not args.tuned_from:
        write_tuning_results(args, choices, common)


def dataset_label(args: argparse.Namespace) -> str:
    """The data a result file's runs trained on, as it records it."""
    return args.data_config or 'CamVid at 240x180 (the configs\' data)'


def result_header(args: argparse.Namespace) -> Dict[str, Any]:
    """The fields every result file of this invocation shares."""
    return dict(
        schema=1, task='seg',
        dataset=dataset_label(args),
        model=args.model_label or args.segmentor,
        machine=f'{os.cpu_count()} CPU cores ({platform.machine()}), '
        f'{args.jobs} run(s) at a time x '
        f'{args.threads} thread(s)', **zoo.provenance(sys.argv),
        source='tools/benchmarks/long_tail_seg.py --results-out (say who '
        'ran it and where its work dir is kept)')


def write_tuning_results(args: argparse.Namespace, choices: Dict[str, dict],
                         common: Dict[str, Any]) -> None:
    """The tuning table as a result file (``-tuning`` before ``.json``)."""
    if not choices:
        return
    groups = reported_groups([metrics for choice in choices.values()
                              for metrics in choice['trials'].values()])
    tuning_rows = []
    for name, choice in choices.items():
        for value, metrics in choice['trials'].items():
            entry = dict(
                label=f"{METHODS[name].label}, {choice['name']} {value:g}",
                config=config_relpath(args, name),
                seeds={str(args.tune_seed): {
                    m: zoo.recorded(metrics.get(m), 2)
                    for m in groups}},
                settings=settings_text({choice['key']: value}))
            if value == choice['value']:
                entry['chosen'] = True
            tuning_rows.append(entry)
    path = args.results_out[:-len('.json')] + '-tuning.json'
    zoo.write_result(dict(
        common, title=f'Tuning of the long-tail methods, {args.segmentor}',
        kind='tuning', split=f'held-out {args.holdout_fraction:g} of train '
        '(the last images of each sequence)',
        schedule=f'{args.tune_iters} iterations',
        rule=f'highest held-out {args.tune_metric} among the values tried '
        '(the same number for every method with a knob); ties to the '
        'config\'s own value', metrics=groups,
        rows=tuning_rows), path)
    print(f'Tuning result file: {path}')


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run the benchmark."""
    args = parse_args(argv)
    for name in args.methods:
        method_config_path(args, name)
    if args.tune:
        choices = tune(args)
    elif args.tuned_from:
        choices = read_tuned_values(args)
    else:
        choices = {}
    if args.tune_only:
        print_tuning(args, choices)
        if args.results_out:
            write_tuning_results(args, choices, result_header(args))
        return
    runs = [Run(name, seed, args.iters, chosen_values(name, choices), False,
                osp.join(args.work_dir, name, f'seed{seed}'))
            for name in args.methods for seed in args.seeds]
    results = run_all(args, runs)
    summary = summarize(args, results, choices)
    print_tuning(args, choices)
    print_table(args, summary)
    if args.results_out:
        write_results(args, summary, choices)


if __name__ == '__main__':
    main()
