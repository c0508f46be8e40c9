"""A model that leaves trainable parameters without gradient stops at the
end of its first iteration with one ``error:`` line naming them, in one
process and in two (``tools/train.py`` adds ``UnusedParameterHook``); DDP
would stop at the second iteration with an error that names none. A
config that declares ``find_unused_parameters=True`` trains."""
import os.path as osp

import pytest

from ..tool_runner import (DEMO_GML, run_dist_train, run_tool,
                           small_seg_options)

HERE = osp.dirname(osp.abspath(__file__))
UNUSED = ('decode_head.decoder.unused_conv.weight',
          'decode_head.decoder.unused_conv.bias')

CONFIG = f'''_base_ = [{DEMO_GML!r}]
custom_imports = dict(
    imports=['mil_seg', 'unused_parameter_head'], allow_failed_imports=False)
model = dict(decode_head=dict(decoder=dict(type='FCNHeadWithUnusedConv')))
'''


def write_config(root, extra: str = '') -> str:
    path = root / 'unused_parameter_config.py'
    path.write_text(CONFIG + extra)
    return str(path)


def error_lines(result) -> list:
    return [
        line for line in (result.stdout + result.stderr).splitlines()
        if line.startswith('error:')
    ]


def assert_stopped_after_first_iteration(result, work_dir) -> None:
    assert result.returncode != 0
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith('error: 2 trainable parameter(s) received '
                               'no gradient in the first training iteration')
    for name in UNUSED:
        assert name in lines[0]
    assert 'find_unused_parameters=True' in lines[0]
    assert 'Expected to have finished reduction' not in result.stderr
    assert not osp.exists(osp.join(work_dir, 'iter_2.pth'))


@pytest.mark.xdist_group('unused_one_process')
def test_one_process_stops_after_the_first_iteration(synthetic_root,
                                                     tmp_path):
    work_dir = tmp_path / 'work'
    result = run_tool('tools/train.py', write_config(tmp_path), '--work-dir',
                      str(work_dir), *small_seg_options(synthetic_root, 4),
                      PYTHONPATH=HERE)
    assert_stopped_after_first_iteration(result, work_dir)
    assert 'Traceback' not in result.stderr


@pytest.mark.xdist_group('unused_two_processes')
def test_two_processes_stop_with_one_error_line(synthetic_root, tmp_path):
    work_dir = tmp_path / 'work'
    result = run_dist_train(write_config(tmp_path), work_dir,
                            small_seg_options(synthetic_root, 4),
                            PYTHONPATH=HERE)
    assert_stopped_after_first_iteration(result, work_dir)


@pytest.mark.xdist_group('unused_one_process')
def test_declared_unused_parameters_train(synthetic_root, tmp_path):
    work_dir = tmp_path / 'work'
    config = write_config(
        tmp_path, 'model_wrapper_cfg = dict(find_unused_parameters=True)\n')
    result = run_tool('tools/train.py', config, '--work-dir', str(work_dir),
                      *small_seg_options(synthetic_root, 2),
                      PYTHONPATH=HERE)
    assert result.returncode == 0, result.stderr[-3000:]
    assert osp.exists(osp.join(work_dir, 'iter_2.pth'))
