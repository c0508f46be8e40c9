"""``tools/slurm_train.sh`` on a real single-node Slurm cluster (the
``slurm_cluster`` fixture): a 2-task training on a partition without GPUs.
"""
import os.path as osp

import pytest

from ..slurm_cluster import PARTITION
from ..tool_runner import (DEMO_GML, ROOT, free_port, run_command,
                           small_seg_options, tool_python)

SLURM_TRAIN = osp.join(ROOT, 'tools', 'slurm_train.sh')


@pytest.mark.xdist_group('slurm')
def test_two_task_training_on_a_cpu_partition(slurm_cluster, synthetic_root,
                                              tmp_path):
    """GPUS=0 asks no --gres (a partition without GPUs refuses one): srun
    starts 2 tasks that train as one 2-rank job."""
    work_dir = tmp_path / 'work'
    result = run_command(
        [
            'bash', SLURM_TRAIN, PARTITION, 'mil_seg-test', DEMO_GML,
            '--work-dir',
            str(work_dir), *small_seg_options(synthetic_root, 2)
        ],
        GPUS='0',
        TASKS='2',
        CPUS_PER_TASK='1',
        PYTHON=tool_python(),
        PORT=str(free_port()),
        **slurm_cluster.env)
    assert result.returncode == 0, (result.stdout[-2000:] +
                                    result.stderr[-3000:] +
                                    slurm_cluster.log_tail())
    logs = list(work_dir.glob('*/*.log'))
    assert logs, result.stderr[-3000:]
    log = logs[0].read_text()
    # --launcher slurm maps srun's ranks to torchrun's variables; mmengine
    # calls the world size 'GPU number'
    assert 'Distributed training: True' in log
    assert 'GPU number: 2' in log
    assert (work_dir / 'iter_2.pth').exists()
    # rank 0 alone writes the log and the checkpoints
    assert 'Traceback' not in result.stderr


@pytest.mark.xdist_group('slurm')
def test_cpu_run_without_a_task_count_names_the_fix(slurm_cluster, tmp_path):
    result = run_command(
        ['bash', SLURM_TRAIN, PARTITION, 'mil_seg-test', DEMO_GML],
        GPUS='0',
        **slurm_cluster.env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        'error: GPUS=0 runs on CPUs: set TASKS to the number of processes '
        '(e.g. GPUS=0 TASKS=2 bash tools/slurm_train.sh ...)'
    ]


@pytest.mark.xdist_group('slurm')
def test_missing_prior_file_stops_both_tasks_with_one_error_line(
        slurm_cluster, synthetic_root, tmp_path):
    """A file the config names is checked before the first iteration, on
    every task; the job prints the one error line once and no traceback,
    and writes nothing."""
    missing = tmp_path / 'missing_prior.json'
    work_dir = tmp_path / 'work'
    options = small_seg_options(synthetic_root, 2)
    options.append(f'val_evaluator.prior={missing}')
    result = run_command(
        [
            'bash', SLURM_TRAIN, PARTITION, 'mil_seg-test', DEMO_GML,
            '--work-dir',
            str(work_dir), *options
        ],
        GPUS='0',
        TASKS='2',
        CPUS_PER_TASK='1',
        PYTHON=tool_python(),
        PORT=str(free_port()),
        **slurm_cluster.env)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    errors = [line for line in output.splitlines()
              if line.startswith('error:')]
    assert len(errors) == 1, output[-3000:]
    assert str(missing) in errors[0]
    assert 'Traceback' not in output
    assert not work_dir.exists()
