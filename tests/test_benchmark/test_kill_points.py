"""Nothing lost: the benchmark killed by ``kill -9`` inside a tuning trial,
inside a seed run and while it writes its result files, each time started
again with the same command, ends with result files equal to an
uninterrupted run's in every metric; the training it had started dies with
it; a result file is replaced whole or not at all, whenever its writer is
killed.
"""
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from ..tool_runner import ROOT, tool_env, tool_server
from .reference import benchmark_args, benchmark_command, measured


def processes_naming(text: str) -> list:
    """Ids of the processes whose command line, or a file they hold open,
    contains ``text`` (a training run by the tool server has the server's
    command line, and its output open in its work dir)."""
    found = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open(f'/proc/{pid}/cmdline', 'rb') as f:
                named = text.encode() in f.read()
            fds = f'/proc/{pid}/fd'
            for fd in ([] if named else os.listdir(fds)):
                try:
                    named = named or text in os.readlink(f'{fds}/{fd}')
                except OSError:
                    continue
        except (FileNotFoundError, PermissionError, ProcessLookupError,
                NotADirectoryError):
            continue
        if named:
            found.append(int(pid))
    return found


def children_of(pid: int) -> list:
    """Ids of the processes whose parent is ``pid``."""
    found = []
    for child in os.listdir('/proc'):
        if not child.isdigit():
            continue
        try:
            with open(f'/proc/{child}/stat') as f:
                if int(f.read().rsplit(')', 1)[1].split()[1]) == pid:
                    found.append(int(child))
        except (FileNotFoundError, NotADirectoryError, ValueError,
                IndexError, ProcessLookupError):
            continue
    return found


@pytest.mark.xdist_group('slurm')  # shares reference_benchmark
def test_a_benchmark_killed_at_any_point_ends_with_the_same_tables(
        reference_benchmark, tmp_path):
    work_dir = tmp_path / 'work'
    results_out = tmp_path / 'lt.json'
    # Through the tool server where it is on: the benchmark and the
    # trainings it starts are then its children, and the kill of the
    # process that stands for the benchmark must end them all.
    server = tool_server()
    command = benchmark_command(*benchmark_args(
        reference_benchmark.data_config, work_dir, results_out))
    kill_points = [
        ('inside a tuning trial (its first checkpoint written)',
         lambda: any(work_dir.glob('tuning/*/*/last_checkpoint'))),
        ('inside a seed run (its first checkpoint written)',
         lambda: any(work_dir.glob('*/seed*/last_checkpoint'))),
        ('while it writes its result files (the first one written)',
         results_out.exists),
    ]
    outputs = []
    for number, (where, reached) in enumerate(kill_points):
        log = tmp_path / f'attempt{number}.out'
        with open(log, 'w') as out:
            bench = subprocess.Popen(command, cwd=ROOT, env=tool_env(),
                                     stdout=out, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 900
            while not reached():
                assert bench.poll() is None, (
                    f'the benchmark ended before being killed {where}:\n'
                    + log.read_text()[-3000:])
                assert time.monotonic() < deadline, f'never {where}'
                time.sleep(0.02)
            bench.send_signal(signal.SIGKILL)
            bench.wait()
        outputs.append(log.read_text())
        # the training it started died with it: nothing else writes there
        # (nor runs in the server)
        def survivors():
            return processes_naming(str(work_dir)) + (
                [] if server is None else children_of(server.pid))

        for _ in range(50):
            if not survivors():
                break
            time.sleep(0.1)
        assert survivors() == [], where
    final = subprocess.run(command, cwd=ROOT, env=tool_env(),
                           capture_output=True, text=True, timeout=1200)
    assert final.returncode == 0, (final.stdout + final.stderr)[-4000:]
    # each attempt resumed what the one before had started
    assert 'resuming' in outputs[1] and 'resuming' in outputs[2]
    assert 'read back' in final.stdout and 'training' not in final.stdout
    assert measured(str(results_out)) == measured(
        reference_benchmark.results_out)
    assert measured(reference_benchmark.tuning_out) == measured(
        str(tmp_path / 'lt-tuning.json'))


WRITER = '''
import sys
from mil_seg.benchmark.results import atomic_write
path, size = sys.argv[1], int(sys.argv[2])
atomic_write(path, 'A' * size)
print('ready', flush=True)
while True:
    for letter in 'BA':
        atomic_write(path, letter * size)
'''


def test_a_result_file_is_whole_whenever_its_writer_is_killed(tmp_path):
    """A writer replacing a 20 MB file in a loop, killed at a random moment
    (mostly inside a write): the file holds one whole version."""
    path = tmp_path / 'table.json'
    size = 20 * 2**20
    writer = subprocess.Popen([sys.executable, '-c', WRITER, str(path),
                               str(size)], cwd=ROOT, env=tool_env(),
                              stdout=subprocess.PIPE, text=True)
    try:
        for line in writer.stdout:  # after the import's log lines
            if line.strip() == 'ready':
                break
        assert path.read_text() == 'A' * size
        time.sleep(random.uniform(0.3, 1.5))
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    text = path.read_text()
    assert len(text) == size and text in ('A' * size, 'B' * size)
