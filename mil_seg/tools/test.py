"""Evaluate a checkpoint of a segmentation or classification config.

    python -m mil_seg.tools.test CONFIG CHECKPOINT [--work-dir DIR]
        [--out FILE.json] [--show-dir DIR] [--cfg-options KEY=VALUE ...]
        [--launcher ...]
"""
import argparse
import json
import os
import os.path as osp

from mmengine.runner import Runner

from ..launch import (TEST_SECTIONS, UserError, add_common_arguments,
                      check_files, init_process_group, load_evaluation_config,
                      run_guarded)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test a mil_seg checkpoint')
    add_common_arguments(parser)
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='write the metrics (JSON) to this file')
    parser.add_argument(
        '--show-dir',
        help='save painted predictions under WORK_DIR/TIMESTAMP/SHOW_DIR')
    return parser.parse_args()


def enable_visualization(cfg, show_dir: str) -> None:
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        raise UserError(
            '--show-dir needs a `visualization` entry in default_hooks')
    hook['draw'] = True  # mmseg
    hook['enable'] = True  # mmpretrain
    hook['interval'] = 1
    if cfg.default_scope == 'mmseg':
        hook['show'] = False
        cfg.visualizer['save_dir'] = show_dir
    else:
        hook['out_dir'] = show_dir


def main() -> None:
    args = parse_args()
    cfg = load_evaluation_config(args)
    if args.show_dir:
        enable_visualization(cfg, args.show_dir)
    init_process_group(cfg)
    check_files(cfg, TEST_SECTIONS)
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    if args.out and runner.rank == 0:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(
                {
                    key: float(value) if hasattr(value, '__float__') else value
                    for key, value in metrics.items()
                },
                f,
                indent=2)


def cli() -> None:
    """Console entry point: :func:`main` with user errors as one line."""
    run_guarded(main, exit_distributed=True)


if __name__ == '__main__':
    cli()
