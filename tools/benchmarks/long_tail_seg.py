"""The long-tailed segmentation benchmark: a thin shell of
:mod:`mil_seg.benchmark` (``python -m mil_seg.benchmark`` or
``mil_seg-bench`` where the package is installed); see there for the
arguments.

    python tools/benchmarks/long_tail_seg.py --methods ce lace gml --tune
"""
from mil_seg.benchmark.cli import cli

if __name__ == '__main__':
    cli()
