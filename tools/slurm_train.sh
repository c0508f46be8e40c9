#!/usr/bin/env bash
# Training on a Slurm cluster (one task per GPU; tools/train.py maps the
# SLURM_* variables to torch.distributed's, see mil_seg/launch/slurm.py).
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [PORT=29500] [SRUN_ARGS=...] \
#   bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train.py args...]
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
GPUS=${GPUS:-4}
GPUS_PER_NODE=${GPUS_PER_NODE:-4}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-}
PORT=${PORT:-29500}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

MASTER_PORT="$PORT" PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    $SRUN_ARGS \
    python -u "$ROOT/tools/train.py" "$CONFIG" --launcher slurm "${@:4}"
