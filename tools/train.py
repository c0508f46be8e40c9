"""Train a segmentation (mmseg) or classification (mmpretrain) config.

Thin entry point of :mod:`mil_seg.tools.train` (also
``python -m mil_seg.tools.train`` and ``mil_seg-train`` where the package is
installed); see there for the arguments."""
from mil_seg.tools.train import cli

if __name__ == '__main__':
    cli()
