"""tools/train.py and tools/test.py end to end, in subprocesses, on
generated data: train, evaluate the checkpoint, resume, and bad input."""
import json
import os.path as osp

import pytest
import torch

from mil_seg.seg.datasets import generate_synthetic_lt_dataset

from ..tool_runner import DEMO_GML as DEMO
from ..tool_runner import run_tool, small_seg_options


@pytest.fixture(scope='module')
def synthetic_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('synthetic_lt'))
    generate_synthetic_lt_dataset(
        root, num_train=12, num_val=4, image_size=(32, 32), seed=0)
    return root


@pytest.fixture(scope='module')
def trained(synthetic_root, tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('work'))
    result = run_tool('tools/train.py', DEMO, '--work-dir', work_dir,
                      *small_seg_options(synthetic_root, 4))
    assert result.returncode == 0, result.stderr[-4000:]
    return work_dir


def test_train_writes_checkpoint_loadable_weights_only(trained):
    checkpoint = osp.join(trained, 'iter_4.pth')
    assert osp.isfile(checkpoint)
    # The default torch.load (weights_only on torch >= 2.6) reads it.
    state = torch.load(checkpoint, map_location='cpu')
    assert state['meta']['iter'] == 4
    queue_keys = [key for key in state['state_dict'] if 'queue' in key]
    assert queue_keys, 'the pixel queue lives in the checkpoint'


def test_test_tool_evaluates_checkpoint(trained, synthetic_root, tmp_path):
    out = tmp_path / 'metrics.json'
    result = run_tool('tools/test.py', DEMO, osp.join(trained, 'iter_4.pth'),
                      '--work-dir', str(tmp_path), '--out', str(out),
                      *small_seg_options(synthetic_root, 4))
    assert result.returncode == 0, result.stderr[-4000:]
    metrics = json.loads(out.read_text())
    assert 0.0 <= metrics['mIoU'] <= 100.0
    assert {'aAcc', 'mAcc', 'mIoU_head', 'mIoU_tail'} <= set(metrics)


def test_resume_continues_from_checkpoint(trained, synthetic_root):
    result = run_tool('tools/train.py', DEMO, '--work-dir', trained,
                      '--resume', *small_seg_options(synthetic_root, 6))
    assert result.returncode == 0, result.stderr[-4000:]
    log = result.stdout + result.stderr
    assert 'resumed' in log.lower()
    assert osp.isfile(osp.join(trained, 'iter_6.pth'))
    state = torch.load(osp.join(trained, 'iter_6.pth'), map_location='cpu')
    assert state['meta']['iter'] == 6


def assert_one_error_line(result, *fragments):
    assert result.returncode == 2, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert 'Traceback' not in result.stderr, result.stderr[-3000:]
    error_lines = [line for line in lines if line.startswith('error:')]
    assert len(error_lines) == 1, lines
    for fragment in fragments:
        assert fragment in error_lines[0], error_lines[0]


def test_unknown_module_is_one_clear_line(synthetic_root, tmp_path):
    result = run_tool('tools/train.py', DEMO, '--work-dir', str(tmp_path),
                      *small_seg_options(synthetic_root, 2),
                      'model.decode_head.type=NoSuchHead')
    assert_one_error_line(result, 'NoSuchHead', 'registry')


def test_missing_data_root_is_one_clear_line(tmp_path):
    missing = str(tmp_path / 'nowhere')
    result = run_tool('tools/train.py', DEMO, '--work-dir', str(tmp_path),
                      *small_seg_options(missing, 2))
    assert_one_error_line(result, 'data not found', missing)


def test_missing_config_and_checkpoint_are_one_clear_line(tmp_path):
    result = run_tool('tools/train.py', str(tmp_path / 'nope.py'))
    assert_one_error_line(result, 'config file not found')
    result = run_tool('tools/test.py', DEMO, str(tmp_path / 'nope.pth'))
    assert_one_error_line(result, 'checkpoint not found')


def test_wrong_launcher_is_rejected_by_name():
    result = run_tool('tools/train.py', DEMO, '--launcher', 'mpirun')
    assert result.returncode == 2
    assert "invalid choice: 'mpirun'" in result.stderr
    assert 'Traceback' not in result.stderr


def test_package_check_is_one_clear_line(synthetic_root, tmp_path):
    result = run_tool('tools/train.py', DEMO, '--work-dir', str(tmp_path),
                      *small_seg_options(synthetic_root, 2),
                      'model.decode_head.queue.size=4')
    assert_one_error_line(result, 'Queue size 4 is smaller than', 'increase')
