#!/bin/bash
# The queue of README.md, in order: each command reads its finished runs back,
# so running the queue again continues where it stopped. The benchmarks do not
# need each other: one that fails is reported and the next one runs. An entry
# NAME:ARG runs NAME.sh ARG (`baselines`: the methods without GML, which do
# not wait for what the design studies ship).
here="$(dirname "$0")"
failed=()
for entry in camvid-lt-deeplabv3plus-800 ccp-fcn-800-gml-design \
    camvid-deeplabv3plus-800-gml-design ccp-lt-fcn-800:baselines \
    camvid-lt-fcn-3200:baselines; do
  name="${entry%%:*}"
  arg="${entry#"$name"}"; arg="${arg#:}"
  if [ -f "$here/$name.sh" ]; then
    echo "queue: $entry ($(date -u))"
    bash "$here/$name.sh" $arg || { echo "queue: $entry failed ($(date -u))"; failed+=("$entry"); }
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "queue: failed: ${failed[*]}"
  exit 1
fi
