#!/usr/bin/env bash
# Run the Dockerfile's pip steps in a fresh virtual environment (no Docker
# engine needed). The mmcv build itself (~45 min of compiling) is checked up
# to its metadata with --dry-run; every other step installs for real.
#   bash docker/check_pip_steps.sh [VENV_DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${1:-$(mktemp -d)/venv}
MMCV=${MMCV:-2.1.0}
MMENGINE=${MMENGINE:-0.10.7}
MMSEG=${MMSEG:-1.2.2}
MMPRETRAIN=${MMPRETRAIN:-1.2.0}
python3 -m venv "$VENV"
PY="$VENV/bin/python"
# The image's base provides torch; here the pinned CPU-runnable build does.
"$PY" -m pip install -q torch==2.14.1 torchvision==0.29.1
"$PY" -m pip install -q --upgrade pip 'setuptools<81' wheel
"$PY" -m pip install -q "mmengine==${MMENGINE}"
"$PY" -m pip install --dry-run --no-build-isolation "mmcv==${MMCV}" | tail -n 1
"$PY" -m pip install -q "mmsegmentation==${MMSEG}" "mmpretrain==${MMPRETRAIN}"
# Stand-in for the compiled mmcv so the package install step can run.
"$PY" -m pip install -q "mmcv-lite==${MMCV}"
"$PY" -m pip install -q -e "$ROOT[tests]"
"$PY" -c "import mil_seg, mil_seg.compat as c; print('mil_seg', mil_seg.__version__, 'shims:', c.active_shims())"
