#!/bin/bash
# #35 item 4: CamVid tiny FCN 800 verdict, held-out tuning widened past the
# edges it chose (the tuning's --widen, default 2), seeds 0-2 on val. Run in
# the work dir of the landed verdict, it reads its runs back.
cd "$(dirname "$0")/../.."  # the repository root
mkdir -p /work/bench/verdict-camvid-fcn-800/widened
exec .venv/bin/python -m mil_seg.benchmark \
  --methods ce lace cwce cwce-prior focal ohem lovasz blv seesaw rr rfs gml gml-shared gml-rfs gml-cw gml-2stage gml-posthoc \
  --segmentor fcn --iters 800 --seeds 0 1 2 --tune --tune-iters 400 \
  --data-root /work/bench/data/camvid --work-dir /work/bench/verdict-camvid-fcn-800/work \
  --jobs 2 --threads 1 --model-label 'tiny FCN' --compare-with gml gml-cw \
  --results-out /work/bench/verdict-camvid-fcn-800/widened/camvid-lt-fcn-800.json
