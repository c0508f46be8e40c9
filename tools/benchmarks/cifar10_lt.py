"""The CPU-sized benchmark of GML on CIFAR-10-LT (imbalance 100): a thin
shell of :mod:`mil_seg.benchmark.cifar10_lt` (``python -m
mil_seg.benchmark.cifar10_lt`` where the package is installed); see there
for the arguments.

    python tools/benchmarks/cifar10_lt.py --data cifar10-images.tar.gz
"""
import sys

from mil_seg.benchmark.cifar10_lt import main
from mil_seg.benchmark.results import script_command, source_root

if __name__ == '__main__':
    main(command=script_command(sys.argv, source_root()))
