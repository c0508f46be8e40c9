#!/bin/bash
# #35 item 4: CamVid tiny FCN 3200 verdict, seeds 0-2 on val, every method at
# the value its 800-iteration held-out tuning chose (results/camvid-lt-fcn-800-tuning.json).
# `camvid-lt-fcn-3200.sh baselines` trains the methods without GML only: they
# do not wait for what the design studies ship; the full command reads them back.
cd "$(dirname "$0")/../.."  # the repository root
methods='ce lace cwce cwce-prior focal ohem lovasz blv seesaw rr rfs'
out=/work/bench/verdict-camvid-fcn-3200/camvid-lt-fcn-3200
if [ "$1" = baselines ]; then
  compare=(); out+=-baselines
else
  methods+=' gml gml-shared gml-rfs gml-cw gml-2stage gml-posthoc'
  compare=(--compare-with gml gml-cw)
fi
exec .venv/bin/python -m mil_seg.benchmark \
  --methods $methods \
  --segmentor fcn --iters 3200 --seeds 0 1 2 --tuned-from results/camvid-lt-fcn-800-tuning.json \
  --data-root /work/bench/data/camvid --work-dir /work/bench/verdict-camvid-fcn-3200/work \
  --jobs 2 --threads 1 --model-label 'tiny FCN' "${compare[@]}" \
  --results-out "$out.json"
