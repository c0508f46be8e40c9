"""CPU-sized benchmark of GML on CIFAR-10-LT (imbalance 100).

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
subprocess, so its peak memory is its own. Prints one table: top-1,
many / medium / few-shot accuracy, wall time, peak memory (RSS, and CUDA
peak on a GPU); ``--results-out FILE`` also writes it as a result file in
the schema of ``results/README.md``.

Example::

    python tools/benchmarks/cifar10_lt.py \\
        --data /work/shared/data/cifar10-images.tar.gz --epochs 8
    # one variant
    python tools/benchmarks/cifar10_lt.py --variants gml-ema
    # smoke run
    python tools/benchmarks/cifar10_lt.py --iters 3 --val-limit 64
"""
import argparse
import json
import math
import os
import os.path as osp
import platform
import resource
import subprocess
import sys
import tarfile
import time

from mil_seg.benchmark import results as zoo
from mil_seg.benchmark.runs import child_env

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_DIR = osp.join(REPO, 'configs', 'gml_cls')
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
# Result-file metric: the LongTailAccuracy key it is read from.
METRICS = {
    'top1': 'lt/top1',
    'many': 'lt/many',
    'medium': 'lt/medium',
    'few': 'lt/few',
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--data',
        default='/work/shared/data/cifar10-images.tar.gz',
        help='tar.gz holding cifar10/{train,val}/<class>/*.jpg, or a folder '
        'holding cifar10/')
    parser.add_argument(
        '--work-dir', default='work_dirs/benchmarks/cifar10_lt')
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument(
        '--epochs',
        type=float,
        default=8,
        help='training epochs of every run (default 8, 776 iterations; the '
        'wall times of such runs are in configs/gml_cls/README.md)')
    budget.add_argument(
        '--iters', type=int, help='training iterations (overrides epochs)')
    parser.add_argument('--batch-size', type=int, default=128)
    parser.add_argument('--num-workers', type=int, default=2)
    parser.add_argument(
        '--val-limit',
        type=int,
        default=None,
        help='evaluate on the first N val images only (smoke runs)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--variants', nargs='+', default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument(
        '--run-one', choices=sorted(CONFIGS), help=argparse.SUPPRESS)
    parser.add_argument('--teacher-checkpoint', help=argparse.SUPPRESS)
    parser.add_argument(
        '--results-out',
        default=None,
        help='also write the table as a result file (results/README.md); '
        'give it its title, source and notes by hand')
    return parser.parse_args()


def prepare_data(data: str, work_dir: str) -> str:
    """Return the folder holding ``train/`` and ``val/`` (extracting)."""
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


def build_config(name: str, args, data_root: str, run_dir: str):
    """The package's config with the data root, budget and schedule set."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(CONFIG_DIR, CONFIGS[name]))
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


def run_one(args) -> None:
    """Train and evaluate one config in this process; print a JSON line."""
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
    print('RESULT ' + json.dumps(result), flush=True)


def launch(name: str, args, extra=()) -> dict:
    """Run one config in a subprocess and return its result."""
    cmd = [sys.executable, osp.abspath(__file__), '--run-one', name,
           '--data', args.data, '--work-dir', args.work_dir,
           '--batch-size', str(args.batch_size),
           '--num-workers', str(args.num_workers), '--seed', str(args.seed)]
    cmd += ['--iters', str(args.iters)] if args.iters else \
        ['--epochs', str(args.epochs)]
    if args.val_limit:
        cmd += ['--val-limit', str(args.val_limit)]
    cmd += list(extra)
    print(f'==> {LABELS[name].strip()}: {" ".join(cmd)}', flush=True)
    # the benchmark's one child environment; each run alone on the machine
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            env=child_env(threads=None), cwd=REPO)
    result = None
    for line in proc.stdout:
        if line.startswith('RESULT '):
            result = json.loads(line[len('RESULT '):])
        else:
            sys.stdout.write('    ' + line)
    if proc.wait() != 0 or result is None:
        raise RuntimeError(f'{name} failed (exit code {proc.returncode})')
    return result


def fmt(value) -> str:
    return '-' if value is None or value != value else f'{value:.2f}'


def print_table(rows) -> None:
    header = ('variant', 'iters', 'top-1', 'many', 'medium', 'few',
              'wall (min)', 'peak RSS (MB)', 'CUDA peak (MB)')
    lines = []
    for label, r in rows:
        m = r.get('metrics', {})
        lines.append((label, str(r.get('iters', '')),
                      *(fmt(m.get(key)) for key in METRICS.values()),
                      f"{(r['train_s'] + r['test_s']) / 60:.1f}",
                      f"{r['rss_mb']:.0f}", fmt(r.get('cuda_mb'))))
    widths = [max(len(x[i]) for x in [header] + lines)
              for i in range(len(header))]
    sep = '-+-'.join('-' * w for w in widths)
    print('\n' + ' | '.join(h.ljust(w) for h, w in zip(header, widths)))
    print(sep)
    for line in lines:
        print(' | '.join(x.ljust(w) for x, w in zip(line, widths)))
    print('\nCIFAR-10-LT r100 (shared JPEG folders), balanced val split; '
          'groups: many >100, medium 20-100, few <20 training images '
          "('-': empty group). Peak RSS of the training process (data "
          'workers excluded). Reference numbers: configs/gml_cls/README.md.')


def results_document(rows: list, args) -> dict:
    """The table as a result file (schema of ``results/README.md``).

    Args:
        rows (list): ``(label, result)`` pairs of :func:`main`; the total
            of the two stages is left out (its stages are rows).
        args (argparse.Namespace): The benchmark's arguments.

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
            config=f'configs/gml_cls/{CONFIGS[r["name"]]}',
            model=MODELS[r['name']],
            seeds={str(args.seed): values}))
    budget = (f'{args.iters} iterations' if args.iters else
              f'{args.epochs:g} epochs') + f' of {args.batch_size} a stage'
    device = rows[0][1].get('device', 'cpu')
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
        **zoo.provenance(zoo.script_command(sys.argv, REPO)),
        source='tools/benchmarks/cifar10_lt.py --results-out (say who ran '
        'it and where its work dir is kept)',
        rows=documented)


def write_results(rows: list, args) -> None:
    """Write ``--results-out``, checked against the result-file schema."""
    zoo.write_result(results_document(rows, args), args.results_out)
    print(f'\nResult file: {args.results_out}', flush=True)


def main():
    args = parse_args()
    if args.run_one:
        run_one(args)
        return
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
    with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
        json.dump([dict(r, label=label) for label, r in rows], f, indent=1)
    print_table(rows)
    if args.results_out:
        write_results(rows, args)


if __name__ == '__main__':
    main()
