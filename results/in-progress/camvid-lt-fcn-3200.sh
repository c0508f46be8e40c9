#!/bin/bash
# #35 item 4: CamVid tiny FCN 3200 verdict, seeds 0-2 on val, every method at
# the value its 800-iteration held-out tuning chose (results/camvid-lt-fcn-800-tuning.json).
# `SCRIPT baselines`: the methods without GML only (verdict-methods.sh).
cd "$(dirname "$0")/../.."  # the repository root
source results/in-progress/verdict-methods.sh "$1"
exec .venv/bin/python -m mil_seg.benchmark \
  --methods $methods \
  --segmentor fcn --iters 3200 --seeds 0 1 2 --tuned-from results/camvid-lt-fcn-800-tuning.json \
  --data-root /work/bench/data/camvid --work-dir /work/bench/verdict-camvid-fcn-3200/work \
  --jobs 2 --threads 1 --model-label 'tiny FCN' "${compare[@]}" \
  --results-out /work/bench/verdict-camvid-fcn-3200/camvid-lt-fcn-3200"$suffix".json
