"""The CPU-sized benchmark of GML on CIFAR-10-LT (imbalance 100).

Trains, with one small budget, the package's CIFAR-10-LT configs
(``configs/gml_cls/*_cifar10lt-r100.py``) through mmengine's Runner:

- ``ce``: ResNet-32, plain cross-entropy;
- ``la``: ResNet-32, logit-adjusted cross-entropy;
- ``gml-ema``: ResNet-32, single-stage GML (momentum key encoder);
- ``gml-2stage``: ResNet-56 teacher (logit-adjusted cosine CE), then the
  ResNet-32 GML student with the frozen teacher as key encoder.

The long-tailed training set is built from CIFAR-10 JPEG folders
(``cifar10/train/<class>/*.jpg``, extracted from ``--data``) by
``LongTailSubset``; evaluation is on the balanced ``cifar10/val`` split.
Only the schedule is changed: the config's 200-epoch shape (5 % linear
warm-up, x0.1 at 80 % and 90 %) is compressed to the budget. Each run is a
process of its own (the benchmark's one runner,
:func:`~.runs.run_process`), so its peak memory is its own; its output goes
to ``run.out`` in its folder under ``--work-dir``. Prints one table:
top-1, many / medium / few-shot accuracy, wall time, peak memory (RSS, and
CUDA peak on a GPU); ``--results-out FILE`` also writes it as a result file
in the schema of ``results/README.md``.

Example::

    python -m mil_seg.benchmark.cifar10_lt \\
        --data cifar10-images.tar.gz --epochs 8
    # the same from a checkout
    python tools/benchmarks/cifar10_lt.py --data cifar10-images.tar.gz
    # one variant
    python -m mil_seg.benchmark.cifar10_lt --data DATA --variants gml-ema
    # smoke run
    python -m mil_seg.benchmark.cifar10_lt --data DATA --iters 3 \\
        --val-limit 64
"""
import argparse
import json
import math
import os
import os.path as osp
import platform
import resource
import sys
import tarfile
import time
from typing import List, Optional, Sequence, Tuple

from . import results as zoo
from .methods import config_root
from .runs import run_process

#: The module run as each training's process.
MODULE = 'mil_seg.benchmark.cifar10_lt'
#: The configs' folder, relative to :func:`~.methods.config_root`.
CONFIG_DIR = 'configs/gml_cls'
SUFFIX = '1xb128-200e_cifar10lt-r100'
CONFIGS = {
    'ce': f'ce_resnet32_{SUFFIX}.py',
    'la': f'la_resnet32_{SUFFIX}.py',
    'gml-ema': f'gml-ema_resnet32_{SUFFIX}.py',
    'gml-teacher': f'gml-teacher_resnet56_{SUFFIX}.py',
    'gml-student': f'gml_resnet32-resnet56_{SUFFIX}.py',
}
VARIANTS = ('ce', 'la', 'gml-ema', 'gml-2stage')
LABELS = {
    'ce': 'CE (ResNet-32)',
    'la': 'LA-CE (ResNet-32)',
    'gml-ema': 'GML single stage (EMA keys)',
    'gml-teacher': '  stage 1: LA cosine teacher (ResNet-56)',
    'gml-student': '  stage 2: GML student (ResNet-32)',
    'gml-2stage': 'GML two stages (total)',
}
MODELS = {
    'ce': 'ResNet-32',
    'la': 'ResNet-32',
    'gml-ema': 'ResNet-32',
    'gml-teacher': 'ResNet-56',
    'gml-student': 'ResNet-32, frozen ResNet-56 teacher',
}
#: Result-file metric: the LongTailAccuracy key it is read from.
METRICS = {
    'top1': 'lt/top1',
    'many': 'lt/many',
    'medium': 'lt/medium',
    'few': 'lt/few',
}
#: A run's ``(label, result)``, as :func:`main` collects them.
Row = Tuple[str, dict]


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's arguments."""
    parser = argparse.ArgumentParser(
        prog=f'python -m {MODULE}', description=__doc__.split('\n')[0])
    parser.add_argument(
        '--data', required=True,
        help='tar.gz holding cifar10/{train,val}/<class>/*.jpg, or a folder '
        'holding cifar10/')
    parser.add_argument(
        '--work-dir', default='work_dirs/benchmarks/cifar10_lt')
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument(
        '--epochs', type=float, default=8,
        help='training epochs of every run (default 8, 776 iterations; the '
        'wall times of such runs are in configs/gml_cls/README.md)')
    budget.add_argument(
        '--iters', type=int, help='training iterations (overrides epochs)')
    parser.add_argument('--batch-size', type=int, default=128)
    parser.add_argument('--num-workers', type=int, default=2)
    parser.add_argument(
        '--val-limit', type=int, default=None,
        help='evaluate on the first N val images only (smoke runs)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--variants', nargs='+', default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument(
        '--run-one', choices=sorted(CONFIGS), help=argparse.SUPPRESS)
    parser.add_argument('--teacher-checkpoint', help=argparse.SUPPRESS)
    parser.add_argument(
        '--results-out', default=None,
        help='also write the table as a result file (results/README.md); '
        'give it its title, source and notes by hand')
    return parser


def prepare_data(data: str, work_dir: str) -> str:
    """The folder holding ``train/`` and ``val/``, extracting a tarball
    into ``work_dir`` once.

    Args:
        data (str): The tarball, or a folder holding ``cifar10/`` (or
            ``train/`` and ``val/`` itself).
        work_dir (str): The benchmark's folder.

    Returns:
        str: The data root.
    """
    if osp.isdir(data):
        root = osp.join(data, 'cifar10') if osp.isdir(
            osp.join(data, 'cifar10')) else data
        return root
    target = osp.join(work_dir, 'data')
    root = osp.join(target, 'cifar10')
    marker = osp.join(target, '.extracted')
    if not osp.exists(marker):
        os.makedirs(target, exist_ok=True)
        print(f'Extracting {data} to {target} ...', flush=True)
        with tarfile.open(data) as tar:
            tar.extractall(target, filter='data')
        open(marker, 'w').close()
    return root


def build_config(name: str, args: argparse.Namespace, data_root: str,
                 run_dir: str):
    """The package's config with the data root, budget and schedule set.

    Args:
        name (str): A key of :data:`CONFIGS`.
        args (argparse.Namespace): The benchmark's arguments
            (:func:`build_parser`).
        data_root (str): :func:`prepare_data`'s folder.
        run_dir (str): The run's work dir.

    Returns:
        tuple[mmengine.Config, int]: The config and its iterations.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(
        osp.join(config_root(), CONFIG_DIR, CONFIGS[name]))
    cfg.work_dir = run_dir
    cfg.randomness = dict(seed=args.seed)
    cfg.train_dataloader.dataset.dataset.data_root = data_root
    cfg.test_dataloader.dataset.data_root = data_root
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        loader.num_workers = args.num_workers
        loader.persistent_workers = args.num_workers > 0
    cfg.train_dataloader.batch_size = args.batch_size
    if args.val_limit:
        # evenly spaced, so that every class is represented
        step = max(1, 5000 // args.val_limit)
        cfg.test_dataloader.dataset.indices = list(
            range(0, step * args.val_limit, step))

    # Budget in iterations; the config's schedule shape, compressed.
    if args.iters:
        total = args.iters
    else:
        from mmengine.registry import init_default_scope
        from mmpretrain.registry import DATASETS
        init_default_scope(cfg.get('default_scope', 'mmpretrain'))
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
        total = max(1, round(args.epochs * math.ceil(
            len(dataset) / args.batch_size)))
    milestones = [round(0.8 * total), round(0.9 * total)]
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
             end=max(1, round(0.025 * total))),
        dict(type='MultiStepLR', by_epoch=False, milestones=milestones,
             gamma=0.1),
    ]
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=total,
                         val_interval=total + 1)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=10)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=False, interval=total,
        max_keep_ckpts=1)
    if name == 'gml-student':
        cfg.model.teacher.checkpoint = args.teacher_checkpoint
    return cfg, total


def result_file(work_dir: str, name: str) -> str:
    """Where the process of run ``name`` writes its result."""
    return osp.join(work_dir, name, 'result.json')


def run_one(args: argparse.Namespace) -> dict:
    """Train and test ``args.run_one`` in this process; its result, also
    written to :func:`result_file` (what :func:`launch` reads).

    Returns:
        dict: ``name``, ``iters``, ``train_s``, ``test_s``, ``metrics``,
        ``rss_mb`` (of this process, data workers excluded),
        ``checkpoint``, ``device`` and, on a GPU, ``cuda_mb``.
    """
    import torch
    from mmengine.runner import Runner

    data_root = prepare_data(args.data, args.work_dir)
    run_dir = osp.join(args.work_dir, args.run_one)
    cfg, total = build_config(args.run_one, args, data_root, run_dir)
    runner = Runner.from_cfg(cfg)
    start = time.time()
    runner.train()
    train_s = time.time() - start
    start = time.time()
    metrics = runner.test()
    test_s = time.time() - start
    result = dict(
        name=args.run_one,
        iters=total,
        train_s=train_s,
        test_s=test_s,
        metrics={k: float(v) for k, v in metrics.items()},
        rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        checkpoint=osp.join(run_dir, f'iter_{total}.pth'),
        device='cuda' if torch.cuda.is_available() else 'cpu')
    if torch.cuda.is_available():
        result['cuda_mb'] = torch.cuda.max_memory_allocated() / 2**20
    zoo.write_json(result_file(args.work_dir, args.run_one), result)
    return result


def launch(name: str, args: argparse.Namespace,
           extra: Sequence[str] = ()) -> dict:
    """Run one config in a process of its own (:func:`run_one` there).

    Args:
        name (str): A key of :data:`CONFIGS`.
        args (argparse.Namespace): The benchmark's arguments, paths
            absolute.
        extra (Sequence[str]): More arguments. Defaults to ().

    Returns:
        dict: The run's result (:func:`run_one`).
    """
    command = [sys.executable, '-m', MODULE, '--run-one', name,
               '--data', args.data, '--work-dir', args.work_dir,
               '--batch-size', str(args.batch_size),
               '--num-workers', str(args.num_workers),
               '--seed', str(args.seed)]
    command += ['--iters', str(args.iters)] if args.iters else \
        ['--epochs', str(args.epochs)]
    if args.val_limit:
        command += ['--val-limit', str(args.val_limit)]
    command += list(extra)
    run_dir = osp.join(args.work_dir, name)
    os.makedirs(run_dir, exist_ok=True)
    output = result_file(args.work_dir, name)
    log = osp.join(run_dir, 'run.out')
    if osp.exists(output):
        os.remove(output)  # never read a former run's result
    print(f'==> {LABELS[name].strip()}: {" ".join(command)}\n'
          f'    its output: {log}', flush=True)
    # each run alone on the machine: its thread count left as it is
    code = run_process(command, log, threads=None).code
    if code != 0 or not osp.isfile(output):
        with open(log, encoding='utf-8') as f:
            tail = f.read()[-3000:]
        raise SystemExit(f'error: {name} failed ({code}); its output, {log}, '
                         f'ends:\n{tail}')
    with open(output, encoding='utf-8') as f:
        return json.load(f)


def _fmt(value: Optional[float]) -> str:
    return '-' if value is None or value != value else f'{value:.2f}'


def print_table(rows: List[Row]) -> None:
    """Print the benchmark's table.

    Args:
        rows (list): ``(label, result)`` pairs of :func:`main`.
    """
    header = ('variant', 'iters', 'top-1', 'many', 'medium', 'few',
              'wall (min)', 'peak RSS (MB)', 'CUDA peak (MB)')
    lines = []
    for label, r in rows:
        m = r.get('metrics', {})
        lines.append((label, str(r.get('iters', '')),
                      *(_fmt(m.get(key)) for key in METRICS.values()),
                      f"{(r['train_s'] + r['test_s']) / 60:.1f}",
                      f"{r['rss_mb']:.0f}", _fmt(r.get('cuda_mb'))))
    widths = [max(len(x[i]) for x in [header] + lines)
              for i in range(len(header))]
    print('\n' + ' | '.join(h.ljust(w) for h, w in zip(header, widths)))
    print('-+-'.join('-' * w for w in widths))
    for line in lines:
        print(' | '.join(x.ljust(w) for x, w in zip(line, widths)))
    print('\nCIFAR-10-LT r100 (shared JPEG folders), balanced val split; '
          'groups: many >100, medium 20-100, few <20 training images '
          "('-': empty group). Peak RSS of the training process (data "
          'workers excluded). Reference numbers: configs/gml_cls/README.md.')


def results_document(rows: List[Row], args: argparse.Namespace,
                     command: Optional[Sequence[str]] = None) -> dict:
    """The table as a result file (schema of ``results/README.md``).

    Args:
        rows (list): ``(label, result)`` pairs of :func:`main`; the total
            of the two stages is left out (its stages are rows).
        args (argparse.Namespace): The benchmark's arguments.
        command (Sequence[str], optional): The command line the file
            records. Defaults to None (``python -m`` this module with
            ``sys.argv[1:]``).

    Returns:
        dict: The result file, numbers at the table's precision.
    """
    documented = []
    for label, r in rows:
        if label == LABELS['gml-2stage']:
            continue
        m = r.get('metrics', {})
        values = {key: zoo.recorded(m.get(source), 2)
                  for key, source in METRICS.items()}
        minutes = (r['train_s'] + r['test_s']) / 60
        values['wall_min'] = zoo.recorded(minutes, 1)
        values['peak_rss_mb'] = zoo.recorded(r['rss_mb'], 0)
        if 'cuda_mb' in r:
            values['cuda_mb'] = zoo.recorded(r['cuda_mb'], 0)
        documented.append(dict(
            label=label.strip(),
            config=f'{CONFIG_DIR}/{CONFIGS[r["name"]]}',
            model=MODELS[r['name']],
            seeds={str(args.seed): values}))
    budget = (f'{args.iters} iterations' if args.iters else
              f'{args.epochs:g} epochs') + f' of {args.batch_size} a stage'
    device = rows[0][1].get('device', 'cpu')
    if command is None:
        command = ['python', '-m', MODULE, *sys.argv[1:]]
    return dict(
        schema=1,
        title=f'CIFAR-10-LT (imbalance 100), {budget}',
        task='cls',
        kind='accuracy',
        dataset='CIFAR-10-LT, imbalance 100, built from CIFAR-10 JPEG '
        'folders by LongTailSubset; many / medium / few = more than 100, '
        '20-100, fewer than 20 training images',
        split='balanced val' + (f' ({args.val_limit} images of it)'
                                if args.val_limit else ''),
        schedule=budget,
        metrics=list(METRICS) + ['wall_min', 'peak_rss_mb'],
        machine=f'{os.cpu_count()} CPU cores ({platform.machine()})' +
        (', CUDA' if device == 'cuda' else ''),
        **zoo.provenance(command),
        source=f'python -m {MODULE} --results-out (say who ran it and '
        'where its work dir is kept)',
        rows=documented)


def main(argv: Optional[Sequence[str]] = None,
         command: Optional[Sequence[str]] = None) -> List[Row]:
    """Run the benchmark (or, with ``--run-one``, one of its runs).

    Args:
        argv (Sequence[str], optional): The arguments. Defaults to None
            (``sys.argv[1:]``).
        command (Sequence[str], optional): The command line a result file
            records (:func:`results_document`). Defaults to None.

    Returns:
        list: The ``(label, result)`` rows of the table.
    """
    args = build_parser().parse_args(argv)
    args.data = osp.abspath(args.data)
    args.work_dir = osp.abspath(args.work_dir)
    if args.run_one:
        return [(LABELS[args.run_one], run_one(args))]
    os.makedirs(args.work_dir, exist_ok=True)
    prepare_data(args.data, args.work_dir)
    rows = []
    for variant in args.variants:
        if variant != 'gml-2stage':
            rows.append((LABELS[variant], launch(variant, args)))
            continue
        teacher = launch('gml-teacher', args)
        student = launch(
            'gml-student', args,
            ['--teacher-checkpoint', teacher['checkpoint']])
        total = dict(student)
        total.update(
            iters=f"{teacher['iters']}+{student['iters']}",
            train_s=teacher['train_s'] + student['train_s'],
            test_s=teacher['test_s'] + student['test_s'],
            rss_mb=max(teacher['rss_mb'], student['rss_mb']))
        if 'cuda_mb' in teacher:
            total['cuda_mb'] = max(teacher['cuda_mb'], student['cuda_mb'])
        rows += [(LABELS['gml-2stage'], total),
                 (LABELS['gml-teacher'], teacher),
                 (LABELS['gml-student'], student)]
    zoo.write_json(osp.join(args.work_dir, 'results.json'),
                   [dict(r, label=label) for label, r in rows])
    print_table(rows)
    if args.results_out:
        zoo.write_result(results_document(rows, args, command),
                         args.results_out)
        print(f'\nResult file: {args.results_out}', flush=True)
    return rows


if __name__ == '__main__':
    main()
