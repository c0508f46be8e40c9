#!/bin/bash
# The queue of README.md, in order: each command reads its finished runs back,
# so running the queue again continues where it stopped; it stops at the
# first command that fails.
set -e
here="$(dirname "$0")"
for name in camvid-lt-deeplabv3plus-800 ccp-fcn-800-gml-design \
    camvid-deeplabv3plus-800-gml-design ccp-lt-fcn-800; do
  if [ -f "$here/$name.sh" ]; then
    echo "queue: $name ($(date -u))"
    bash "$here/$name.sh"
  fi
done
