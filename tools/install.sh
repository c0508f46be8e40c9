#!/usr/bin/env bash
# Create a virtual environment with a pinned OpenMMLab stack and mil_seg.
#
#   bash tools/install.sh              # upstream OpenMMLab, CPU-only:
#                                      # mmcv-lite, nothing compiled
#   MMCV=full bash tools/install.sh    # keep a full mmcv 2.1.x already in
#                                      # the environment (GPU machines)
#   STACK=onedl bash tools/install.sh  # the maintained onedl-* fork; its
#                                      # mmcv builds without compiled ops
#                                      # unless one is installed already
#
# VENV (default .venv) names the environment; PYTHON (default python3) the
# interpreter that creates it; TORCH_DISK_GIB (default 6) the free space
# it asks for before installing torch. Re-running it is safe and fast.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}
STACK=${STACK:-upstream}
MMCV=${MMCV:-lite}
TORCH_VERSION=${TORCH_VERSION:-2.14.1}
TORCHVISION_VERSION=${TORCHVISION_VERSION:-0.29.1}
TORCH_DISK_GIB=${TORCH_DISK_GIB:-6}
case "$STACK" in
    upstream|onedl) ;;
    *) echo "install.sh: STACK=$STACK: use STACK=upstream (default) or STACK=onedl" >&2; exit 1 ;;
esac

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
# PyPI's torch for Linux is a CUDA build: with its CUDA libraries and
# triton it takes ~5.8 GiB. Refuse early rather than leave a half-installed
# environment when the disk cannot hold it.
if ! "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
    FREE_GIB=$("$VENV/bin/python" -c 'import shutil, sys; print(shutil.disk_usage(sys.argv[1]).free // 2**30)' "$VENV")
    if [ "$FREE_GIB" -lt "$TORCH_DISK_GIB" ]; then
        echo "install.sh: torch $TORCH_VERSION needs about $TORCH_DISK_GIB GiB in $VENV, only $FREE_GIB GiB free there: free some space or put the environment on a larger disk (VENV=/path/to/venv bash tools/install.sh)" >&2
        exit 1
    fi
fi
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)
# setuptools<81 keeps pkg_resources, which mmengine and mmcv still import.
"${PIP[@]}" --upgrade pip 'setuptools<81' wheel
"${PIP[@]}" "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
if [ "$STACK" = onedl ]; then
    # onedl-mmcv is a source package whose build requirements hold no torch:
    # without a CUDA toolchain it builds without compiled ops, in seconds.
    # An mmcv with ops already there (MMCV=full) is kept.
    if [ "$MMCV" = full ]; then
        "$VENV/bin/python" -c 'import mmcv, importlib.util as u, sys; sys.exit(u.find_spec("mmcv._ext") is None)' \
            || { echo "install.sh: MMCV=full but no mmcv with compiled ops in $VENV; see README (install matrix)" >&2; exit 1; }
        "${PIP[@]}" -e "$ROOT[tests]" onedl-mmengine==0.10.12 onedl-mmsegmentation==1.4.2 onedl-mmpretrain==1.3.6
    else
        "${PIP[@]}" -e "$ROOT[tests,onedl]"
    fi
else
    if [ "$MMCV" = lite ]; then
        if "$VENV/bin/python" -c 'import importlib.util as u, sys; sys.exit(u.find_spec("mmcv") is None or u.find_spec("mmcv._ext") is None)' 2>/dev/null; then
            echo "install.sh: a full mmcv is already installed; keeping it (never mix mmcv and mmcv-lite)"
        else
            "${PIP[@]}" 'mmcv-lite==2.1.0'
        fi
    else
        "$VENV/bin/python" -c 'import mmcv, importlib.util as u, sys; sys.exit(u.find_spec("mmcv._ext") is None)' \
            || { echo "install.sh: MMCV=full but no mmcv with compiled ops in $VENV; see README (install matrix)" >&2; exit 1; }
    fi
    "${PIP[@]}" -e "$ROOT[tests,upstream]"
fi
# yapf (mmengine prints configs with it) writes its grammar cache on first
# import; ranks or test workers importing it at once the first time can
# read a half-written file (EOFError). Write it now, once.
"$VENV/bin/python" -c 'import yapf' 2>/dev/null || true
"$VENV/bin/python" -c 'import mil_seg; print("mil_seg", mil_seg.__version__, "on the", mil_seg.STACK, "stack, installed in", __import__("sys").prefix)'
