"""``mil_seg.launch.run_guarded``: a finished distributed run leaves no
process group behind; a failed one does not wait for the other ranks; a
launcher's rank ends without interpreter teardown but with its output and
``atexit`` work done."""
import subprocess
import sys
import textwrap

import pytest
import torch.distributed as torch_dist

from mil_seg.launch import UserConfigError, run_guarded
from .test_reliability.test_distributed import free_port


@pytest.fixture
def gloo_group():
    torch_dist.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{free_port()}', rank=0,
        world_size=1)
    yield
    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()


def test_normal_end_destroys_the_process_group(gloo_group):
    assert torch_dist.is_initialized()
    assert run_guarded(lambda: 7) == 7
    assert not torch_dist.is_initialized()


def test_user_error_keeps_the_process_group(gloo_group, capsys):

    def fail():
        raise UserConfigError('set data_root')

    with pytest.raises(SystemExit) as exit_info:
        run_guarded(fail)
    assert exit_info.value.code == 2
    assert 'error: set data_root' in capsys.readouterr().err
    assert torch_dist.is_initialized()


def test_without_a_process_group_nothing_happens():
    assert not torch_dist.is_initialized()
    assert run_guarded(lambda: 'done') == 'done'


def test_without_a_process_group_a_launcher_returns_normally():
    assert run_guarded(lambda: 'done', exit_distributed=True) == 'done'


RANK_SCRIPT = """
import atexit, sys
import torch.distributed as torch_dist
from mil_seg.launch import UserConfigError, run_guarded

torch_dist.init_process_group(
    'gloo', init_method='tcp://127.0.0.1:{port}', rank=0, world_size=1)

def record_exit():
    with open({marker!r}, 'w') as f:
        f.write(f'initialized={{torch_dist.is_initialized()}}')

atexit.register(record_exit)


class Teardown:
    def __del__(self):
        sys.stderr.write('interpreter teardown')


teardown = Teardown()  # collected only if the interpreter finalises

def main():
    print('last line of the run')  # block-buffered: stdout is a pipe
    sys.stderr.write('last warning')
    if {fail}:
        raise UserConfigError('set data_root')
    return 'done'

run_guarded(main, exit_distributed=True)
print('returned to the caller')
"""


def run_rank_script(tmp_path, fail):
    marker = tmp_path / 'atexit.txt'
    script = RANK_SCRIPT.format(
        port=free_port(), marker=str(marker), fail=fail)
    result = subprocess.run([sys.executable, '-c', textwrap.dedent(script)],
                            capture_output=True,
                            text=True,
                            timeout=120)
    assert 'last line of the run' in result.stdout
    assert 'returned to the caller' not in result.stdout
    assert 'last warning' in result.stderr
    assert 'interpreter teardown' not in result.stderr
    return result, marker.read_text()


def test_launcher_rank_exits_after_flushing_and_atexit(tmp_path):
    result, at_exit = run_rank_script(tmp_path, fail=False)
    assert result.returncode == 0, result.stderr
    # atexit ran while Python was alive, after the group was released
    assert at_exit == 'initialized=False'


def test_launcher_rank_with_a_user_error_exits_2_without_waiting(tmp_path):
    result, at_exit = run_rank_script(tmp_path, fail=True)
    assert result.returncode == 2, result.stderr
    assert 'error: set data_root' in result.stderr
    assert 'Traceback' not in result.stderr
    # no barrier with ranks that may never come: the group is left as is
    assert at_exit == 'initialized=True'
