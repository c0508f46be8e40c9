"""Launcher-level faults that must end in one clear line."""
import pytest
import torch

from ..tool_runner import DEMO_GML, run_tool, small_seg_options


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
