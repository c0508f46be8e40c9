#!/bin/bash
# #35 item 1: GML's design study on CamVid, tiny DeepLabV3+, 800 iterations,
# the held-out split (val never read), seeds 0 and 1: the choices of the
# CamVid FCN study, and the cosine classifier's scale, which was chosen on
# the CamVid FCN.
cd "$(dirname "$0")/../.."  # the repository root
exec .venv/bin/python -m mil_seg.benchmark design \
  --add-choice scale-5 model.decode_head.classifier_scale=5 \
  --add-choice scale-20 model.decode_head.classifier_scale=20 \
  --segmentor deeplabv3plus --model-label 'tiny DeepLabV3+' --iters 800 --seeds 0 1 --jobs 2 --threads 1 \
  --data-root /work/bench/data/camvid --work-dir /work/bench/design-camvid-deeplabv3plus-800/work \
  --results-out /work/bench/design-camvid-deeplabv3plus-800/camvid-deeplabv3plus-800-gml-design.json
