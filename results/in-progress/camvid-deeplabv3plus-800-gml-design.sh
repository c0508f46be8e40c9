#!/bin/bash
# #35 item 1: GML's design study on CamVid, tiny DeepLabV3+, 800 iterations,
# the held-out split (val never read), seeds 0 and 1: the choices of the
# CamVid FCN study.
cd "$(dirname "$0")/../.."  # the repository root
exec .venv/bin/python -m mil_seg.benchmark design \
  --segmentor deeplabv3plus --model-label 'tiny DeepLabV3+' --iters 800 --seeds 0 1 --jobs 2 --threads 1 \
  --data-root /work/bench/data/camvid --work-dir /work/bench/design-camvid-deeplabv3plus-800/work \
  --results-out /work/bench/design-camvid-deeplabv3plus-800/camvid-deeplabv3plus-800-gml-design.json
