#!/bin/bash
# #35 item 1: GML's design study on CCP, tiny FCN, 800 iterations, the held-out
# split (val never read), seeds 0 and 1: the choices of the CamVid FCN study,
# and the cosine classifier's scale, which was chosen on the CamVid FCN.
cd "$(dirname "$0")/../.."  # the repository root
exec .venv/bin/python -m mil_seg.benchmark design \
  --add-choice scale-5 model.decode_head.classifier_scale=5 \
  --add-choice scale-20 model.decode_head.classifier_scale=20 \
  --config-pattern 'configs/gml_seg/{segmentor}-{method}_r18-tiny-d8_1xb8-1k_ccp-183x277.py' \
  --dataset-label 'CCP at 183x277' \
  --segmentor fcn --model-label 'tiny FCN' --iters 800 --seeds 0 1 --jobs 2 --threads 1 \
  --data-root /work/bench/data/ccp --work-dir /work/bench/design-ccp-fcn-800/work \
  --results-out /work/bench/design-ccp-fcn-800/ccp-fcn-800-gml-design.json
