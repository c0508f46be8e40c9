"""Convert Clothing Co-Parsing (CCP, its release layout) into the
MMSegmentation layout.

    python tools/dataset_converters/ccp.py SRC DST [--scale 1/3] \
        [--split FILE] [--nproc N]

SRC is the root of the public release (bearpaw/clothing-co-parsing):
photos/NNNN.jpg, annotations/pixel-level/NNNN.mat, label_list.mat. DST
receives img_dir/{split} and ann_dir/{split} (PNG; labels 0-58) at
``--scale`` of the photos' size (images bilinear, labels nearest) for each
split of the split file (default: the one shipped with the package) whose
photos are all present. A bad release ends with one ``error:`` line and
leaves DST as it was. See ``mil_seg.seg.datasets.convert_ccp``.
"""
import argparse
import time

from mil_seg.launch import run_guarded
from mil_seg.seg.datasets import CCP_SPLIT_FILE, convert_ccp


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert CCP from its release layout to mmseg')
    parser.add_argument('src', help='root of the CCP release')
    parser.add_argument('dst', help='output root, e.g. data/ccp')
    parser.add_argument(
        '--scale',
        default='1/3',
        help='output size over the photo size, a number or a fraction '
        '(default: 1/3, about 183x277)')
    parser.add_argument(
        '--split',
        default=None,
        help=f'split JSON {{"train": [ids], ...}} (default: {CCP_SPLIT_FILE})')
    parser.add_argument(
        '--nproc', type=int, default=1, help='number of processes')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    start = time.perf_counter()
    done = convert_ccp(
        args.src, args.dst, args.split, scale=args.scale, nproc=args.nproc)
    for split, reason in done['skipped'].items():
        print(f'skipped {split}: {reason}')
    print('converted: ' + ', '.join(
        f'{k} {v}' for k, v in done['converted'].items()) +
          f' images into {args.dst} in {time.perf_counter() - start:.1f} s')


if __name__ == '__main__':
    run_guarded(main)
