"""``mil_seg.launch.run_guarded``: a user error (by its type) ends in one
``error:`` line and status 2, a bug keeps its traceback; a finished
distributed run leaves no process group behind; a failed one does not wait
for the other ranks; a launcher's rank ends without interpreter teardown but
with its output and ``atexit`` work done."""
import subprocess
import sys
import textwrap

import pytest
import torch.distributed as torch_dist
from mmengine.registry import Registry
from torch.utils.data._utils.worker import ExceptionWrapper

from mil_seg.launch import MissingFileError, UserError, run_guarded


@pytest.fixture
def gloo_group(tmp_path):
    torch_dist.init_process_group(
        'gloo', init_method=f'file://{tmp_path}/group', rank=0,
        world_size=1)
    yield
    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()


def error_lines(err: str) -> list:
    return [line for line in err.splitlines() if line.strip()]


def exits_with_one_error_line(main, capsys) -> str:
    """Run ``main`` guarded; return its one line on stderr."""
    with pytest.raises(SystemExit) as exit_info:
        run_guarded(main)
    assert exit_info.value.code == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1 and lines[0].startswith('error: '), lines
    return lines[0]


# ----------------------------------------------------- user error or bug
TOY_MODELS = Registry('mil_seg_test_models')


@TOY_MODELS.register_module()
class NeedsPositiveWidth:
    """A module that checks its config as the package's modules do."""

    def __init__(self, width: int, error_type: type = UserError) -> None:
        if width <= 0:
            raise error_type(f'width must be positive, got {width}:\n'
                             '    set model.width')


def test_user_error_from_a_registry_build_is_one_line(capsys):
    line = exits_with_one_error_line(
        lambda: TOY_MODELS.build(dict(type='NeedsPositiveWidth', width=0)),
        capsys)
    assert line == 'error: width must be positive, got 0: set model.width'


def test_user_error_re_raised_with_a_prefix_is_one_line(capsys):
    """As a registry that re-raises a build error as its type with the
    class and module in front."""

    def build():
        try:
            TOY_MODELS.build(dict(type='NeedsPositiveWidth', width=-1))
        except Exception as error:
            raise type(error)('class `NeedsPositiveWidth` in '
                              f'test_process.py: {error}') from error

    line = exits_with_one_error_line(build, capsys)
    assert line == ('error: class `NeedsPositiveWidth` in test_process.py: '
                    'width must be positive, got -1: set model.width')


def test_plain_value_error_is_a_bug_with_its_traceback(capsys):
    with pytest.raises(ValueError, match='width must be positive'):
        run_guarded(lambda: TOY_MODELS.build(
            dict(type='NeedsPositiveWidth', width=0, error_type=ValueError)))
    assert capsys.readouterr().err == ''


def test_user_error_of_a_dataloader_worker_is_its_own_line(capsys):
    """PyTorch re-raises a worker's error with the worker's traceback as
    the message; the line is the original message."""

    def load():
        try:
            NeedsPositiveWidth(0)
        except UserError:
            wrapper = ExceptionWrapper(
                sys.exc_info(), where='in DataLoader worker process 0')
        wrapper.reraise()

    line = exits_with_one_error_line(load, capsys)
    assert line == 'error: width must be positive, got 0: set model.width'


def test_other_libraries_user_errors_are_one_line(capsys):

    def unknown_type():
        TOY_MODELS.build(dict(type='NoSuchModule'))

    line = exits_with_one_error_line(unknown_type, capsys)
    assert 'NoSuchModule is not in the' in line and 'registry' in line
    assert 'check the `type` in the config' in line

    def missing_file():
        open('/surely/not/a/file/of/mil_seg.pth')

    assert 'No such file' in exits_with_one_error_line(missing_file, capsys)
    # other KeyErrors are bugs
    with pytest.raises(KeyError):
        run_guarded(lambda: {}['key'])


def test_traceback_of_a_user_error_on_request(monkeypatch):
    monkeypatch.setenv('MIL_SEG_TRACEBACK', '1')

    def fail():
        raise MissingFileError('checkpoint not found: x.pth')

    with pytest.raises(MissingFileError):
        run_guarded(fail)


LAUNCHER_SCRIPT = """
from mmengine.registry import Registry
from mil_seg.launch import UserError, run_guarded

MODELS = Registry('toy')


@MODELS.register_module()
class Head:
    def __init__(self, channels):
        if channels < 1:
            raise {error}('set model.head.channels >= 1')


run_guarded(lambda: MODELS.build(dict(type='Head', channels=0)),
            exit_distributed=True)
"""


def run_launcher(error: str):
    return subprocess.run(
        [sys.executable, '-c', LAUNCHER_SCRIPT.format(error=error)],
        capture_output=True,
        text=True,
        timeout=300)


@pytest.mark.parametrize('error', ['UserError', 'ValueError'])
def test_launcher_process_user_error_or_bug(error):
    result = run_launcher(error)
    lines = error_lines(result.stderr)
    one_line = [line for line in lines if line.startswith('error:')]
    if error == 'UserError':
        assert result.returncode == 2, result.stderr[-3000:]
        assert 'Traceback' not in result.stderr
        assert one_line == ['error: set model.head.channels >= 1']
    else:
        assert result.returncode == 1, result.stderr[-3000:]
        assert 'Traceback (most recent call last)' in result.stderr
        assert lines[-1] == 'ValueError: set model.head.channels >= 1'
        assert one_line == []


# ------------------------------------------------------- process groups
def test_normal_end_destroys_the_process_group(gloo_group):
    assert torch_dist.is_initialized()
    assert run_guarded(lambda: 7) == 7
    assert not torch_dist.is_initialized()


def test_user_error_keeps_the_process_group(gloo_group, capsys):

    def fail():
        raise UserError('set data_root')

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
from mil_seg.launch import UserError, run_guarded

torch_dist.init_process_group(
    'gloo', init_method='file://{group_file}', rank=0, world_size=1)

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
        raise UserError('set data_root')
    return 'done'

run_guarded(main, exit_distributed=True)
print('returned to the caller')
"""


def run_rank_script(tmp_path, fail):
    marker = tmp_path / 'atexit.txt'
    script = RANK_SCRIPT.format(
        group_file=tmp_path / 'group', marker=str(marker), fail=fail)
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


# ---------------------------------------- a user error on some ranks only
TWO_RANK_SCRIPT = """
import sys, time
import torch.distributed as torch_dist
from mil_seg.launch import UserError, run_guarded

def main():
    torch_dist.init_process_group('gloo')  # env://: rank 0 hosts the store
    rank = torch_dist.get_rank()
    if {failing} is None or rank == {failing}:
        time.sleep(0.5)  # the others are in the collective by then
        raise UserError('set data_root')
    torch_dist.barrier()

run_guarded(main, exit_distributed=True)
"""


@pytest.mark.parametrize('failing', [0, 1, None])
def test_user_error_of_some_ranks_one_line_no_traceback(failing):
    """Two ranks started as ``srun`` starts them (``env://``, the store in
    rank 0's process): a user error raised by rank 0, by rank 1 or by both
    is printed once; the rank waiting in a collective for the failed one
    exits with status 2 without a traceback."""
    from ..tool_runner import free_port, tool_env
    env = tool_env(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(free_port()),
                   WORLD_SIZE='2')
    script = textwrap.dedent(TWO_RANK_SCRIPT.format(failing=failing))
    ranks = [
        subprocess.Popen([sys.executable, '-c', script],
                         env=dict(env, RANK=str(rank), LOCAL_RANK=str(rank)),
                         stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE,
                         text=True) for rank in range(2)
    ]
    outputs = [rank.communicate(timeout=240) for rank in ranks]
    assert [rank.returncode for rank in ranks] == [2, 2], outputs
    errors = [line for _, err in outputs for line in err.splitlines()
              if line.startswith('error:')]
    assert errors == ['error: set data_root'], outputs
    for _, err in outputs:
        assert 'Traceback' not in err and 'Connection' not in err, err
