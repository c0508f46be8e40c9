#!/bin/bash
# #35 item 4: CCP tiny FCN 800 verdict, held-out tuning, seeds 0-2 on val.
# RFS's threshold is a fraction of the images and CCP's classes are in far
# fewer of them than CamVid's: its grid is CCP's own, around the CCP config's
# 0.03 (as many values as every method's grid).
# `SCRIPT baselines`: the methods without GML only (verdict-methods.sh).
cd "$(dirname "$0")/../.."  # the repository root
source results/in-progress/verdict-methods.sh "$1"
exec .venv/bin/python -m mil_seg.benchmark \
  --methods $methods \
  --config-pattern 'configs/gml_seg/{segmentor}-{method}_r18-tiny-d8_1xb8-1k_ccp-183x277.py' \
  --dataset-label 'CCP at 183x277' --knob-values rfs=0.01,0.03,0.1 \
  --segmentor fcn --iters 800 --seeds 0 1 2 --tune --tune-iters 400 \
  --data-root /work/bench/data/ccp --work-dir /work/bench/verdict-ccp-fcn-800/work \
  --jobs 2 --threads 1 --model-label 'tiny FCN' "${compare[@]}" \
  --results-out /work/bench/verdict-ccp-fcn-800/ccp-lt-fcn-800"$suffix".json
