"""How the GML contrastive terms scale with anchors N, queue K and dim D: a
thin shell of :mod:`mil_seg.benchmark.loss_scaling` (``python -m
mil_seg.benchmark.loss_scaling`` where the package is installed); see
there for the arguments.

    python tools/benchmarks/gml_loss_scaling.py [--device cuda] \\
        [--anchors 512 1024 2048] [--queue 4096 16384] [--dims 128 256] \\
        [--classes 150] [--repeats 5] [--no-old]
"""
from mil_seg.benchmark.loss_scaling import main

if __name__ == '__main__':
    main()
