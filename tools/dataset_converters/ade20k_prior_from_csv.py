"""Write the ADE20K class prior from the benchmark's objectInfo150.csv.

    python tools/dataset_converters/ade20k_prior_from_csv.py \
        objectInfo150.csv mil_seg/priors/ade20k.json [--count-type image]

Pixel counts are the CSV's pixel ratios times 20210 images of a nominal
512 x 512 pixels; image counts (written in either case) are its ``Train``
column, the training images that contain each class; see
``mil_seg.seg.datasets.ade20k_prior_from_csv``.
"""
import argparse

from mil_seg.gml import ClassPrior
from mil_seg.seg.datasets import ade20k_prior_from_csv


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='ADE20K class prior from objectInfo150.csv')
    parser.add_argument('csv', help='path of objectInfo150.csv')
    parser.add_argument('out', help='output prior JSON')
    parser.add_argument(
        '--count-type', choices=('pixel', 'image'), default='pixel')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    prior = ade20k_prior_from_csv(args.csv, args.count_type)
    ClassPrior.write_file(args.out, **prior)
    print(f'wrote {args.out} ({len(prior["classes"])} classes, '
          f'{prior["count_type"]} counts)')


if __name__ == '__main__':
    main()
