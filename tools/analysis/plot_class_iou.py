"""Plot per-class IoU against training class frequency.

    python tools/analysis/plot_class_iou.py RESULT [RESULT2] \
        [--prior FILE] [--labels CE GML] --out class_iou.png

RESULT is the per-class JSON written by ``LongTailIoUMetric`` when its
``output_file`` is set, e.g. ``tools/test.py CONFIG CKPT --cfg-options
test_evaluator.output_file=work_dirs/x/class_iou.json``. ``--prior`` (a path
or a shipped name such as 'ade20k') gives the x axis; without it, the prior
counts stored in the first result are used.
"""
import argparse

from mil_seg.gml import ClassPrior
from mil_seg.seg.evaluation import load_class_results, plot_class_iou


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Per-class IoU against class frequency')
    parser.add_argument('results', nargs='+', help='one or two result JSONs')
    parser.add_argument('--prior', default=None, help='prior JSON or name')
    parser.add_argument('--out', required=True, help='output image (.png)')
    parser.add_argument('--labels', nargs='+', default=None)
    parser.add_argument('--metric', default='IoU')
    parser.add_argument('--title', default=None)
    parser.add_argument(
        '--no-names', action='store_true', help='do not write class names')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if len(args.results) > 2:
        raise SystemExit('give one or two result files')
    results = [load_class_results(path) for path in args.results]
    counts = None
    if args.prior:
        counts = ClassPrior.read_file(
            ClassPrior.resolve_file(args.prior))['counts']
    plot_class_iou(
        results,
        args.out,
        prior_counts=counts,
        labels=args.labels or args.results,
        metric=args.metric,
        annotate=not args.no_names,
        title=args.title)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
