"""The embedded demo: train and evaluate GML on generated long-tailed data.

    python tools/demo.py [--config CONFIG] [--work-dir DIR] [--cfg-options ...]

The synthetic dataset (8 classes, pixel shares following a power law) is
generated on first use under data/synthetic_lt. Training and evaluation go
through tools/train.py and tools/test.py, exactly as for any config; the
last lines are the evaluation table (mIoU and head/body/tail mIoU).
"""
import argparse
import json
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_CONFIG = osp.join(
    'configs', 'gml_seg', 'demo_gml_tiny_1xb8-1k_synthetic-lt-64x64.py')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'demo'))
    parser.add_argument('--cfg-options', nargs='+', default=[])
    return parser.parse_args()


def run(command: list) -> None:
    print('+ ' + ' '.join(command), flush=True)
    code = subprocess.call(command, cwd=ROOT)
    if code != 0:
        sys.exit(code)


def main() -> None:
    args = parse_args()
    options = ['--cfg-options', *args.cfg_options] if args.cfg_options else []
    run([sys.executable, 'tools/train.py', args.config, '--work-dir',
         args.work_dir, *options])
    with open(osp.join(ROOT, args.work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    metrics_file = osp.join(args.work_dir, 'metrics.json')
    run([sys.executable, 'tools/test.py', args.config, checkpoint,
         '--work-dir', args.work_dir, '--out', metrics_file, *options])
    with open(osp.join(ROOT, metrics_file)) as f:
        metrics = json.load(f)
    print('\nDemo result (synthetic long-tailed set, validation split):')
    print('| metric | value |\n|---|---|')
    for key, value in metrics.items():
        if isinstance(value, (int, float)):
            print(f'| {key} | {value:.2f} |')


if __name__ == '__main__':
    main()
