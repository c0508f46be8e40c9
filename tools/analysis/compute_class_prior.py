"""Compute the class prior of a config's training set.

    python tools/analysis/compute_class_prior.py CONFIG \
        [--out FILE] [--count-type pixel|image] [--workers N]

The train dataset (``train_dataloader.dataset``, wrappers unwrapped) is
built with its pipeline cut down to ``LoadAnnotations``: images are not
read and augmentations are skipped, so each stored label map is counted
once, with the dataset's ``reduce_zero_label`` and ``label_map`` applied as
in training. Pixels equal to ``--ignore-index`` are not counted. The result
is a ClassPrior JSON file (``{"classes", "counts", "count_type",
"num_samples", "image_counts"}``): ``counts`` are the ``--count-type``
ones, ``image_counts`` the number of images containing each class in
either case (what the metric's frequent / common / rare groups read). See
``mil_seg.seg.datasets.compute_class_counts``.
"""
import argparse
import os.path as osp

from mmengine.config import Config, DictAction

from mil_seg.seg.datasets import compute_class_counts, write_class_prior


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Class prior (pixel or image counts) of a train set')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--out',
        default=None,
        help='output JSON (default: class_prior.json in the data root)')
    parser.add_argument(
        '--count-type',
        choices=('pixel', 'image'),
        default='pixel',
        help='count labelled pixels or images containing each class')
    parser.add_argument(
        '--split',
        default='train',
        help='which dataloader\'s dataset to scan: train, val or test')
    parser.add_argument(
        '--workers', type=int, default=1, help='number of processes')
    parser.add_argument(
        '--ignore-index', type=int, default=255, help='label not counted')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    import mil_seg  # noqa: F401  (registry, compatibility layer)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    dataset_cfg = cfg[f'{args.split}_dataloader']['dataset']
    stats = compute_class_counts(
        dataset_cfg,
        ignore_index=args.ignore_index,
        workers=args.workers,
        scope=cfg.get('default_scope', 'mmseg') or 'mmseg')
    out = args.out or osp.join(
        dataset_cfg.get('data_root') or '.', 'class_prior.json')
    write_class_prior(out, stats, args.count_type)
    if stats['num_out_of_range']:
        print(f'warning: {stats["num_out_of_range"]} pixels had a label '
              'that is neither a class nor the ignore index')
    counts = stats[f'{args.count_type}_counts']
    total = max(int(counts.sum()), 1)
    print(f'{stats["num_samples"]} images; {args.count_type} counts and '
          'images containing each class:')
    for name, count, images in zip(stats['classes'], counts,
                                   stats['image_counts']):
        print(f'  {name:>20s} {int(count):>12d} {100 * count / total:7.3f}% '
              f'{int(images):>8d}')
    print(f'wrote {out}')


if __name__ == '__main__':
    main()
