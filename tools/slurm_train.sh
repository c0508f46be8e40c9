#!/usr/bin/env bash
# Training on a Slurm cluster: one task per GPU, or TASKS tasks on a CPU
# partition (GPUS=0: no --gres is asked, which a partition without GPUs
# refuses). tools/train.py maps the SLURM_* variables to torch.distributed's
# (mil_seg/launch/slurm.py).
#   GPU: [GPUS=4] [GPUS_PER_NODE=4] [CPUS_PER_TASK=5] [PORT=29500] \
#        [SRUN_ARGS=...] [PYTHON=python] bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train.py args...]
#   CPU: GPUS=0 TASKS=2 [TASKS_PER_NODE=2] [CPUS_PER_TASK=1] \
#        bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train.py args...]
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: [GPUS=N] [TASKS=N] bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train.py args...]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
GPUS=${GPUS:-4}
if [ "$GPUS" -gt 0 ]; then
    GPUS_PER_NODE=${GPUS_PER_NODE:-$(( GPUS < 4 ? GPUS : 4 ))}
    TASKS=${TASKS:-$GPUS}
    TASKS_PER_NODE=${TASKS_PER_NODE:-$GPUS_PER_NODE}
    GRES=(--gres=gpu:"$GPUS_PER_NODE")
else
    if [ -z "${TASKS:-}" ]; then
        echo "error: GPUS=0 runs on CPUs: set TASKS to the number of processes (e.g. GPUS=0 TASKS=2 bash tools/slurm_train.sh ...)" >&2
        exit 2
    fi
    TASKS_PER_NODE=${TASKS_PER_NODE:-$TASKS}
    GRES=()
fi
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-}
PORT=${PORT:-29500}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python}

MASTER_PORT="$PORT" PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    "${GRES[@]}" \
    --ntasks="$TASKS" \
    --ntasks-per-node="$TASKS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    $SRUN_ARGS \
    "$PYTHON" -u "$ROOT/tools/train.py" "$CONFIG" --launcher slurm "${@:4}"
