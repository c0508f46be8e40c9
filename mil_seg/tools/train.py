"""Train a segmentation (mmseg) or classification (mmpretrain) config.

    python -m mil_seg.tools.train CONFIG [--work-dir DIR] [--resume [CKPT]]
        [--amp] [--cfg-options KEY=VALUE ...] [--launcher none|pytorch|slurm]
"""
import argparse

from mmengine.runner import Runner

from .. import compat
from ..launch import (TRAIN_SECTIONS, add_common_arguments,
                      add_random_state_hook, add_unused_parameter_hook,
                      check_files, enable_amp, init_process_group,
                      load_config, run_guarded)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a mil_seg config')
    add_common_arguments(parser)
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from CKPT, or without a value from the latest '
        'checkpoint in the work dir')
    parser.add_argument('--amp',
                        action='store_true',
                        help='mixed-precision training')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = load_config(args)
    if args.amp:
        enable_amp(cfg)
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    # --resume continues the random streams too (resume_random_state=False
    # in the config keeps mmengine's re-seeding only).
    add_random_state_hook(cfg)
    # A parameter without gradient stops the run after its first
    # iteration, naming it (DDP's own error comes later and names none).
    add_unused_parameter_hook(cfg)
    # Every file the run reads (data, prior files, checkpoints) before
    # anything is built; the ranks of a distributed run agree on it.
    init_process_group(cfg)
    check_files(cfg, TRAIN_SECTIONS)
    runner = Runner.from_cfg(cfg)
    for shim in compat.active_shims():
        runner.logger.info(f'mil_seg.compat active: {shim}')
    runner.train()


def cli() -> None:
    """Console entry point: :func:`main` with user errors as one line."""
    run_guarded(main, exit_distributed=True)


if __name__ == '__main__':
    cli()
