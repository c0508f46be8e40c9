"""Evaluate a checkpoint of a segmentation or classification config.

Thin entry point of :mod:`mil_seg.tools.test` (also
``python -m mil_seg.tools.test`` and ``mil_seg-test`` where the package is
installed); see there for the arguments."""
from mil_seg.tools.test import cli

if __name__ == '__main__':
    cli()
