"""Launcher-level faults that must end in one clear line, in one process
and in several."""
import re

import pytest
import torch

from ..tool_runner import (DEMO_GML, run_dist_train, run_tool,
                           small_seg_options)


@pytest.mark.skipif(
    torch.cuda.is_available(), reason='checks the CPU-only refusal')
def test_amp_without_gpu_is_one_clear_line(synthetic_root, tmp_path):
    result = run_tool('tools/train.py', DEMO_GML, '--amp', '--work-dir',
                      str(tmp_path), *small_seg_options(synthetic_root, 1))
    assert result.returncode == 2, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr
    errors = [line for line in result.stderr.splitlines()
              if line.startswith('error:')]
    assert len(errors) == 1 and '--amp needs a GPU' in errors[0], errors


# ------------------------------------------- files the config names, up front
def missing_prior_options(data_root: str, prior: str) -> list:
    """The tiny demo run of ``small_seg_options`` whose evaluators name a
    missing prior file (before the check: found at the first validation,
    after the checkpoints of the training iterations were written)."""
    return small_seg_options(data_root, 2, f'val_evaluator.prior={prior}',
                             f'test_evaluator.prior={prior}')


def assert_stopped_before_training(result, work_dir, prior: str) -> None:
    output = result.stdout + result.stderr
    errors = [line for line in output.splitlines()
              if line.startswith('error:')]
    assert len(errors) == 1, output[-3000:]
    assert errors[0].startswith(f'error: prior file not found: {prior} '
                                '(val_evaluator.prior)'), errors
    assert 'Iter(train)' not in output  # before the first iteration
    assert not list(work_dir.glob('**/*.pth'))


@pytest.mark.xdist_group('missing_files_one_process')
def test_missing_evaluator_prior_stops_before_training(synthetic_root,
                                                       tmp_path):
    work_dir, prior = tmp_path / 'work', str(tmp_path / 'missing.json')
    result = run_tool('tools/train.py', DEMO_GML, '--work-dir',
                      str(work_dir),
                      *missing_prior_options(synthetic_root, prior))
    assert result.returncode == 2, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr
    assert_stopped_before_training(result, work_dir, prior)


@pytest.mark.xdist_group('missing_files_two_processes')
def test_missing_evaluator_prior_two_processes_one_line(synthetic_root,
                                                        tmp_path):
    """torchrun, 2 CPU ranks: the ranks find the file missing together
    and exit with status 2; rank 0 alone prints the line, no rank a
    traceback (torchrun's own report of the failed ranks aside)."""
    work_dir, prior = tmp_path / 'work', str(tmp_path / 'missing.json')
    result = run_dist_train(DEMO_GML, work_dir,
                            missing_prior_options(synthetic_root, prior))
    assert result.returncode != 0
    assert_stopped_before_training(result, work_dir, prior)
    output = result.stdout + result.stderr
    # torchrun's report: each rank's exit status. torchrun ends the ranks
    # still running once it sees the first one fail (SIGTERM, -15): a rank
    # whose exit lags the other's by more than torchrun's polling interval
    # is reported so.
    statuses = re.findall(r'exitcode +: (-?\d+) ', output)
    assert len(statuses) == 2 and '2' in statuses, output[-3000:]
    assert set(statuses) <= {'2', '-15'}, output[-3000:]
    # a rank's traceback: torch prefixes it with [rankN], and it runs
    # through tools/train.py
    assert '[rank' not in output and 'train.py", line' not in output, \
        output[-3000:]
