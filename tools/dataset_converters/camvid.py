"""Convert CamVid (SegNet release layout) into the MMSegmentation layout.

    python tools/dataset_converters/camvid.py SRC DST [--splits train val]

SRC holds train/, trainannot/, val/, valannot/ (test/, testannot/ and the
*.txt lists optional): the public SegNet tutorial release or the
half-resolution copy with the same layout. DST receives img_dir/{split} and
ann_dir/{split}; label 11 (unlabelled) becomes 255. See
``mil_seg.seg.datasets.convert_camvid``.
"""
import argparse

from mil_seg.seg.datasets import convert_camvid


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert CamVid from the SegNet layout to mmseg')
    parser.add_argument('src', help='root of the SegNet CamVid layout')
    parser.add_argument('dst', help='output root, e.g. data/camvid')
    parser.add_argument(
        '--splits',
        nargs='+',
        default=None,
        help='splits to convert (default: those present of train val test)')
    parser.add_argument(
        '--nproc', type=int, default=1, help='number of processes')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    done = convert_camvid(args.src, args.dst, args.splits, args.nproc)
    print('converted: ' + ', '.join(f'{k} {v}' for k, v in done.items()))


if __name__ == '__main__':
    main()
