"""The cost of a training step of segmentation configs: a thin shell of
:mod:`mil_seg.benchmark.step_cost` (``python -m
mil_seg.benchmark.step_cost`` where the package is installed); see there
for the arguments.

    python tools/benchmarks/seg_step_cost.py BASELINE_CONFIG CANDIDATE_CONFIG \\
        [--crop 512 512] [--batch 4] [--iters 200] [--device cuda] [--amp]
"""
from mil_seg.benchmark.step_cost import main

if __name__ == '__main__':
    main()
