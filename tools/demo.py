"""The embedded demo: the long-tail benchmark on generated long-tailed data.

    python tools/demo.py [--iters N] [--seeds S ...] [--no-tune]
                         [--work-dir DIR] [--cfg-options KEY=VALUE ...]

Generates the synthetic long-tailed set (8 classes, pixel shares from 76%
down to 0.7%) under --data-root if it is not there, then runs the benchmark
(``python -m mil_seg.benchmark``, :mod:`mil_seg.benchmark.cli`) on the demo
configs ``configs/gml_seg/demo_{method}_tiny_1xb8-1k_synthetic-lt-64x64.py``:
cross-entropy, class-weighted cross-entropy and GML, each knob tuned on a
held-out fifth of train as the benchmark tunes, then every method at each
seed. It ends with the benchmark's table and the files written beside its
result file (the tuning table and what the benchmark's report adds).
"""
import argparse
import os
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PATTERN = osp.join('configs', 'gml_seg',
                   'demo_{method}_tiny_1xb8-1k_synthetic-lt-64x64.py')
METHODS = ('ce', 'cwce', 'gml')
#: Budget of every run (tuning trials included), chosen so that the whole
#: demo stays well under 10 minutes on a quiet 2-core CPU (README.md).
ITERS = 250


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--methods', nargs='+', default=list(METHODS))
    parser.add_argument('--iters', type=int, default=ITERS)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    parser.add_argument('--tune', action=argparse.BooleanOptionalAction,
                        default=True,
                        help='tune each knob on the held-out split first')
    parser.add_argument('--jobs', type=int,
                        default=max(1, min(4, os.cpu_count() or 1)),
                        help='trainings at a time, one thread each')
    parser.add_argument('--data-root', default=osp.join('data',
                                                        'synthetic_lt'))
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'demo'))
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='KEY=VALUE overrides of every run')
    return parser.parse_args()


def ensure_data(data_root: str) -> None:
    """Generate the demo's data as its config describes, unless there."""
    from mmengine.config import Config

    from mil_seg.seg.datasets import generate_synthetic_lt_dataset
    if osp.isfile(osp.join(data_root, 'meta.json')):
        return
    config = Config.fromfile(osp.join(ROOT, PATTERN.format(method='ce')))
    print(f'Generating the synthetic long-tailed set in {data_root}',
          flush=True)
    generate_synthetic_lt_dataset(
        data_root, **config.train_dataloader.dataset.generate_cfg)


def benchmark_argv(args: argparse.Namespace, data_root: str, work_dir: str,
                   results_out: str) -> list:
    """The benchmark's command line of the demo."""
    from mil_seg.benchmark.cli import build_parser
    argv = ['--methods', *args.methods, '--config-pattern', PATTERN,
            '--model-label', 'tiny FCN (demo)', '--iters', str(args.iters),
            '--seeds', *map(str, args.seeds), '--jobs', str(args.jobs),
            '--threads', '1', '--data-root', data_root,
            '--work-dir', work_dir, '--results-out', results_out,
            '--cfg-options', f'val_evaluator.prior={data_root}/'
            'class_prior.json', *args.cfg_options]
    if args.tune:
        argv.append('--tune')
    if '--rank-by' in build_parser().format_usage():
        # the table ranked, best first, where the benchmark's report ranks
        argv += ['--rank-by', 'mIoU']
    return argv


def main() -> None:
    args = parse_args()
    data_root = osp.join(ROOT, args.data_root)
    work_dir = osp.join(ROOT, args.work_dir)
    results_out = osp.join(work_dir, 'results', 'synthetic-lt.json')
    ensure_data(data_root)
    from mil_seg.benchmark.cli import cli
    argv = benchmark_argv(args, data_root, work_dir, results_out)
    print('+ python -m mil_seg.benchmark ' + ' '.join(argv), flush=True)
    cli(argv)
    print('\nFiles beside the result file:')
    folder = osp.dirname(results_out)
    for name in sorted(os.listdir(folder)):
        print('  ' + osp.relpath(osp.join(folder, name)))


if __name__ == '__main__':
    sys.exit(main())
