#!/bin/bash
# The queue of README.md, in order: each command reads its finished runs back,
# so running the queue again continues where it stopped. The benchmarks do not
# need each other: one that fails is reported and the next one runs.
here="$(dirname "$0")"
failed=()
for name in camvid-lt-deeplabv3plus-800 ccp-fcn-800-gml-design \
    camvid-deeplabv3plus-800-gml-design ccp-lt-fcn-800 camvid-lt-fcn-3200; do
  if [ -f "$here/$name.sh" ]; then
    echo "queue: $name ($(date -u))"
    bash "$here/$name.sh" || { echo "queue: $name failed ($(date -u))"; failed+=("$name"); }
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "queue: failed: ${failed[*]}"
  exit 1
fi
