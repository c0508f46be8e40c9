"""Generate the synthetic long-tailed segmentation demo dataset.

    python tools/dataset_converters/make_synthetic_lt.py data/synthetic_lt

Writes img_dir/, ann_dir/, meta.json (classes, palette, target and realised
pixel shares) and class_prior.json (train pixel counts, ClassPrior format).
See ``mil_seg.seg.datasets.generate_synthetic_lt_dataset``.
"""
import argparse

from mil_seg.seg.datasets import generate_synthetic_lt_dataset


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Generate a synthetic long-tailed segmentation dataset')
    parser.add_argument('out_dir', help='output directory')
    parser.add_argument('--num-train', type=int, default=300)
    parser.add_argument('--num-val', type=int, default=60)
    parser.add_argument(
        '--size', type=int, nargs=2, default=(64, 64), help='height width')
    parser.add_argument(
        '--num-classes',
        type=int,
        default=8,
        help='number of classes, background included')
    parser.add_argument(
        '--imbalance',
        type=float,
        default=100.0,
        help='ratio of the largest to the smallest target pixel share')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    meta = generate_synthetic_lt_dataset(
        args.out_dir,
        num_train=args.num_train,
        num_val=args.num_val,
        image_size=tuple(args.size),
        num_classes=args.num_classes,
        seed=args.seed,
        imbalance=args.imbalance)
    print('realised train pixel shares (%):')
    for name, share in zip(meta['classes'],
                           meta['realised_shares']['train']):
        print(f'  {name:>12s} {100 * share:7.3f}')


if __name__ == '__main__':
    main()
