#!/bin/bash
# #35 item 4: CamVid tiny DeepLabV3+ 800 verdict, held-out tuning, seeds 0-2 on val.
cd "$(dirname "$0")/../.."  # the repository root
exec .venv/bin/python -m mil_seg.benchmark \
  --methods ce lace cwce cwce-prior focal ohem lovasz blv seesaw rr rfs gml gml-shared gml-rfs gml-cw gml-2stage gml-posthoc \
  --segmentor deeplabv3plus --iters 800 --seeds 0 1 2 --tune --tune-iters 400 \
  --data-root /work/bench/data/camvid --work-dir /work/bench/verdict-camvid-deeplabv3plus-800/work \
  --jobs 2 --threads 1 --model-label 'tiny DeepLabV3+' --compare-with gml gml-cw \
  --results-out /work/bench/verdict-camvid-deeplabv3plus-800/camvid-lt-deeplabv3plus-800.json
