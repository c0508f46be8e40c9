"""The tool server of tests/tool_runner.py against fresh processes.

What a tool sees and what the test gets back are compared on tiny scripts
written to ``tmp_path``, run by :meth:`ToolServer.run` and by
``subprocess.run``. Those scripts are not under ``tools/``, so
``run_tool`` itself would run them fresh: the rule of which commands the
server takes is checked on its own (:func:`servable`, and which way
``run_command`` goes, with both ways replaced by recorders), and one real
tool runs through ``run_tool`` end to end. That keeps the scripts out of
the repository and needs no switch that forces the server on.

The servers killed or broken here are servers of their own that import
only ``json`` (fast to start); the comparisons use this process's server,
which imported the package as it does for every tool.
"""
import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import pytest

from . import tool_runner
from .tool_runner import (FRESH_PROCESSES, ROOT, ToolServer, ToolServerError,
                          ToolServerWarning, run_command, run_tool, servable,
                          tool_env)

pytestmark = pytest.mark.skipif(
    os.environ.get(FRESH_PROCESSES) == '1',
    reason=f'{FRESH_PROCESSES}=1: no tool server')


@contextlib.contextmanager
def no_server_warning():
    """No ToolServerWarning inside: the server started and served."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always', ToolServerWarning)
        yield
    warned = [str(warning.message) for warning in caught
              if issubclass(warning.category, ToolServerWarning)]
    assert not warned, warned


@pytest.fixture(scope='module')
def server():
    """This process's tool server (it must start)."""
    with no_server_warning():
        server = tool_runner.tool_server()
    assert server is not None and server.alive(), tool_runner._server_off
    return server


def write(path, source: str) -> str:
    path.write_text(textwrap.dedent(source))
    return str(path)


def both(server, args, env=None, cwd=ROOT, timeout=120):
    """(fresh, served) results of ``args``; in the served output, the
    served tools' ``sys.executable`` (the server's executable, see
    ``Nested`` in tests/tool_server.py) reads as the real one."""
    env = tool_env() if env is None else env
    fresh = subprocess.run(args, cwd=cwd, env=env, capture_output=True,
                           text=True, timeout=timeout)
    served = server.run(args, env, timeout=timeout, cwd=cwd)
    served.stdout, served.stderr = (
        text.replace(server.python, sys.executable)
        for text in (served.stdout, served.stderr))
    return fresh, served


def assert_same(fresh, served, args):
    assert served.args is args
    assert (served.returncode, served.stdout, served.stderr) == \
        (fresh.returncode, fresh.stdout, fresh.stderr)


# ------------------------------------------------ exit statuses and output
EXITS = {
    'normal': ('print("out"); import sys; print("err", file=sys.stderr)', 0),
    'exit_2': ('import sys; print("out"); sys.exit(2)', 2),
    'exit_none': ('import sys; sys.exit()', 0),
    'exit_300': ('import sys; sys.exit(300)', 300 & 0xFF),
    'exit_message': ('raise SystemExit("no such thing")', 1),
    'exception': ('def f():\n    raise ValueError("bad")\nf()', 1),
    'syntax_error': ('def (', 1),
    'signal': ('import os, signal; os.kill(os.getpid(), signal.SIGTERM)',
               -signal.SIGTERM),
    'carriage_returns': ('print("a\\rb\\r\\nc", end="")', 0),
    'unflushed_at_exit': ('import sys; sys.stdout.write("x" * 10000)', 0),
}


@pytest.mark.parametrize('case', sorted(EXITS))
def test_exit_status_and_output_as_a_fresh_process(server, tmp_path, case):
    source, status = EXITS[case]
    args = [sys.executable, write(tmp_path / 'tool.py', source + '\n')]
    fresh, served = both(server, args)
    assert fresh.returncode == status, fresh.stderr
    assert_same(fresh, served, args)
    if case == 'exit_message':
        assert served.stderr == 'no such thing\n'
    if case == 'exception':
        # the traceback starts at the tool's own code, as a real run's
        assert served.stderr.splitlines()[1].startswith(f'  File "{args[1]}"')


PROBE = '''
import json, os, sys
json.dump(dict(argv=sys.argv, orig_argv=getattr(sys, 'orig_argv', None),
               path0=sys.path[0], name=__name__, file=__file__,
               spec=__spec__ and __spec__.name, cwd=os.getcwd(),
               probe=os.environ.get('MIL_SEG_PROBE'),
               stdin=sys.stdin.read(), isatty=sys.stdout.isatty(),
               main=sorted(vars(sys.modules['__main__'])) if
               sys.modules['__main__'].__dict__ is globals() else None),
          sys.stdout)
atexit_message = 'atexit ran'
import atexit
atexit.register(print, atexit_message, file=sys.stderr)
'''


def test_script_sees_what_a_fresh_run_sees(server, tmp_path):
    """sys.argv, sys.path[0], __main__, the working directory, the
    environment (the request's: a variable the server never had) and
    /dev/null for stdin; atexit functions run."""
    tools = tmp_path / 'tools'
    tools.mkdir()
    script = write(tools / 'probe.py', PROBE)
    env = tool_env(MIL_SEG_PROBE='request')
    # a relative path, from another working directory
    args = [sys.executable, 'tools/probe.py', '--flag', 'value']
    fresh, served = both(server, args, env=env, cwd=str(tmp_path))
    assert_same(fresh, served, args)
    seen = json.loads(served.stdout)
    assert seen['argv'] == ['tools/probe.py', '--flag', 'value']
    assert seen['path0'] == str(tools) and seen['file'] == script
    assert seen['cwd'] == str(tmp_path) and seen['probe'] == 'request'
    assert served.stderr == 'atexit ran\n'


def test_module_sees_what_python_m_sees(server, tmp_path):
    """``-m``: sys.argv[0] the module's file, sys.path[0] the working
    directory, ``__spec__``; its traceback has runpy's frames as a real
    one."""
    package = tmp_path / 'probe_package'
    package.mkdir()
    (package / '__init__.py').write_text('')
    write(package / 'probe.py', PROBE)
    write(package / 'fail.py', 'raise KeyError("missing")\n')
    args = [sys.executable, '-m', 'probe_package.probe', 'x']
    fresh, served = both(server, args, cwd=str(tmp_path))
    assert_same(fresh, served, args)
    seen = json.loads(served.stdout)
    assert seen['argv'] == [str(package / 'probe.py'), 'x']
    assert seen['path0'] == str(tmp_path)
    assert seen['spec'] == 'probe_package.probe'
    for module in ('probe_package.fail', 'probe_package.nothing'):
        args = [sys.executable, '-m', module]
        fresh, served = both(server, args, cwd=str(tmp_path))
        assert fresh.returncode == 1
        assert_same(fresh, served, args)


def test_each_run_has_its_own_random_streams(server, tmp_path):
    """Fresh processes seed Python's, NumPy's and torch's streams each
    their own way; so do the server's children."""
    script = write(
        tmp_path / 'draw.py', '''
        import random, numpy, torch
        print(random.random(), numpy.random.rand(), torch.rand(1).item())
        ''')
    draws = [
        server.run([sys.executable, script], tool_env()).stdout.split()
        for _ in range(2)
    ]
    for first, second in zip(*draws):
        assert first != second


def test_a_timeout_kills_the_tool_and_what_it_started(server, tmp_path):
    pids = tmp_path / 'pids'
    script = write(
        tmp_path / 'sleep.py', f'''
        import os, subprocess, sys, time
        sleeper = subprocess.Popen(['sleep', '300'])
        with open({str(pids)!r}, 'w') as f:
            f.write(f'{{os.getpid()}} {{sleeper.pid}}')
        print('started', flush=True)
        time.sleep(300)
        ''')
    args = [sys.executable, script]
    with pytest.raises(subprocess.TimeoutExpired) as raised:
        server.run(args, tool_env(), timeout=5)
    assert raised.value.cmd is args and raised.value.timeout == 5
    assert raised.value.output == b'started\n'  # bytes, as subprocess.run's
    assert raised.value.stderr is None
    for pid in map(int, pids.read_text().split()):
        assert_gone(pid)
    # and it serves on
    again = server.run([sys.executable, write(tmp_path / 'ok.py', 'pass')],
                       tool_env(), timeout=120)
    assert again.returncode == 0


def assert_gone(pid: int, wait: float = 10) -> None:
    """``pid`` has ended (a zombie waiting for init counts as ended)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            with open(f'/proc/{pid}/stat') as f:
                if f.read().rsplit(')', 1)[1].split()[0] == 'Z':
                    return
        except FileNotFoundError:
            return
        time.sleep(0.05)
    raise AssertionError(f'process {pid} still runs')


# --------------------------------------------------------- what is served
def test_which_commands_the_server_runs():
    python = sys.executable
    assert servable([python, 'tools/train.py', 'config.py'])
    assert servable([python, os.path.join(ROOT, 'tools', 'test.py')])
    assert servable([python, '-m', 'mil_seg.benchmark', '--help'])
    assert servable([python, '-m', 'mil_seg'])
    for args in ([python, '-c', 'print(1)'], [python, '-m', 'pip', 'list'],
                 [python, '-m', 'mil_segx'], [python, '-u', 'tools/train.py'],
                 [python, 'tests/test_reliability/dist_queue_worker.py'],
                 [python, 'tools/no_such_tool.py'], [python, 'tools'],
                 ['bash', 'tools/dist_train.sh'], [python], [python, '-m']):
        assert not servable(args), args


@pytest.fixture
def recorded(monkeypatch):
    """Which way run_command goes: 'fresh' or 'served', per call."""
    calls = []

    def fresh(args, timeout, env):
        calls.append('fresh')
        return subprocess.CompletedProcess(args, 0, '', '')

    def served(self, args, env, timeout=None, cwd=ROOT):
        calls.append('served')
        return subprocess.CompletedProcess(args, 0, '', '')

    monkeypatch.setattr(tool_runner, '_run_fresh', fresh)
    monkeypatch.setattr(ToolServer, 'run', served)
    return calls


def test_run_command_goes_fresh_unless_served(server, recorded, monkeypatch):
    run_tool('tools/train.py', '--help')
    run_tool('-m', 'mil_seg.benchmark', '--help')
    assert recorded == ['served', 'served']
    del recorded[:]
    run_tool('-c', 'import mil_seg')
    run_tool('tools/train.py', '--help', fresh=True)
    run_tool('tools/train.py', '--help', MIL_SEG_PROBE='1')
    run_tool('-m', 'pip', '--version')
    run_command(['bash', '-c', 'true'])
    monkeypatch.setenv(FRESH_PROCESSES, '1')
    run_tool('tools/train.py', '--help')
    assert recorded == ['fresh'] * 6


def test_a_changed_environment_gets_a_new_server(monkeypatch):
    """The test process's environment changed (code under test set a
    variable): a fresh tool would import with it, so a new server does."""
    monkeypatch.setattr(tool_runner, 'SERVER_PRELOAD', ['json'])
    monkeypatch.setattr(tool_runner, '_server', None)  # this process's kept
    try:
        first = tool_runner.tool_server()
        assert tool_runner.tool_server() is first
        # not for pytest's own per-test variable
        monkeypatch.setenv('PYTEST_CURRENT_TEST', 'another test')
        assert tool_runner.tool_server() is first
        monkeypatch.setenv('MIL_SEG_PROBE', 'set after the server started')
        second = tool_runner.tool_server()
        assert second is not first and not first.alive()
        assert second.env['MIL_SEG_PROBE'] == 'set after the server started'
    finally:
        tool_runner.stop_tool_server()


class BrokenServer:
    """A server that fails every command, after starting it or not."""

    def __init__(self, started: bool) -> None:
        self.env = tool_env()
        self.started = started
        self.closed = False

    def alive(self) -> bool:
        return not self.closed

    def run(self, args, env, timeout=None, cwd=ROOT):
        raise ToolServerError('broken', started=self.started)

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize('started', [False, True])
def test_a_failing_server_warns_and_the_command_runs_fresh(
        recorded, monkeypatch, started):
    broken = BrokenServer(started)
    monkeypatch.setattr(tool_runner, '_server', broken)
    monkeypatch.setattr(tool_runner, '_server_off', None)
    with pytest.warns(ToolServerWarning, match='broken') as warned:
        result = run_tool('tools/train.py', '--help')
    assert result.returncode == 0 and recorded == ['fresh']
    assert ('ran in part' in str(warned[0].message)) == started
    assert broken.closed
    # off for the rest of the process: fresh, without asking it again
    run_tool('tools/train.py', '--help')
    assert recorded == ['fresh', 'fresh']


# ---------------------------------------------------- the server's own end
def test_a_server_that_cannot_start_says_why(monkeypatch):
    monkeypatch.setattr(tool_runner, 'SERVER_SOURCE',
                        'import sys; print("no import"); sys.exit(3)')
    with pytest.raises(ToolServerError, match='no import'):
        ToolServer()
    monkeypatch.undo()
    with pytest.raises(ToolServerError, match='No module named'):
        ToolServer(preload=['no_such_module_anywhere'])


def test_a_server_that_dies_during_a_run_takes_the_run_along(tmp_path):
    """The server killed while its child runs: ToolServerError (started),
    the child's process group killed, the server closed."""
    server = ToolServer(preload=['json'])
    try:
        pid_file = tmp_path / 'pid'
        script = write(
            tmp_path / 'kill_server.py', f'''
            import os, signal, time
            with open({str(pid_file)!r}, 'w') as f:
                f.write(str(os.getpid()))
            os.kill(os.getppid(), signal.SIGKILL)
            time.sleep(300)
            ''')
        with pytest.raises(ToolServerError) as raised:
            server.run([sys.executable, script], tool_env(), timeout=120)
        assert raised.value.started
        assert not server.alive()
        assert_gone(int(pid_file.read_text()))
    finally:
        server.close()


def test_closing_the_server_ends_it():
    server = ToolServer(preload=['json'])
    process = server._process
    server.close()
    assert process.returncode == 0
    assert_gone(server.pid)


# ------------------------------------------- what the served tools start
INNER = '''
import json, os, sys
json.dump(dict(argv=sys.argv, cwd=os.getcwd(), ppid=os.getppid(),
               path=sys.path[:4], stdin=sys.stdin.read(),
               probe=os.environ.get('MIL_SEG_PROBE')), sys.stdout)
print('to stderr', file=sys.stderr)
if sys.argv[1] == 'signal':
    import signal
    os.kill(os.getpid(), signal.SIGTERM)
sys.exit(int(sys.argv[1]) if sys.argv[1].isdigit() else 0)
'''
#: The outer tool: runs ``python ARGS...`` (given as JSON, with variables
#: added to its environment) with stdin 'in', twice: through its
#: ``sys.executable`` (the server's executable) and through the real
#: interpreter (the third argument); prints both results and its pid.
OUTER = '''
import json, os, subprocess, sys
args, env = json.loads(sys.argv[1]), json.loads(sys.argv[2])
results = {}
for name, python in (('executable', sys.executable),
                     ('real', sys.argv[3])):
    done = subprocess.run([python, *args], input='in', capture_output=True,
                          text=True, env=dict(os.environ, **env))
    results[name] = dict(returncode=done.returncode, stdout=done.stdout,
                         stderr=done.stderr)
results['pid'] = os.getpid()
json.dump(results, sys.stdout)
'''


@pytest.fixture(scope='module')
def nesting(tmp_path_factory):
    """A server of the standard library whose served tools may run the
    scripts of ``root/tools``: (server, root)."""
    root = tmp_path_factory.mktemp('nesting')
    (root / 'tools').mkdir()
    write(root / 'tools' / 'inner.py', INNER)
    write(root / 'tools' / 'outer.py', OUTER)
    write(root / 'elsewhere.py', INNER)
    server = ToolServer(preload=['json'], scripts=str(root / 'tools'))
    yield server, root
    server.close()


def run_nested(nesting, args, **env):
    """``outer.py`` served, starting ``python args`` both ways:
    (through the executable, through the interpreter, the tool's pid)."""
    server, root = nesting
    done = server.run(
        [sys.executable, 'tools/outer.py', json.dumps(args), json.dumps(env),
         sys.executable], tool_env(), cwd=str(root), timeout=120)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    return results['executable'], results['real'], results['pid']


@pytest.mark.parametrize('status', ['0', '3', 'signal'])
def test_a_served_tool_starts_the_tools_in_the_server(nesting, status):
    """``sys.executable tools/inner.py`` from a served tool runs in a child
    of the server (not of the tool), and the tool sees what the real
    interpreter gives: the exit status (a signal's too), the output, the
    arguments, the working directory, ``sys.path`` and stdin."""
    server, root = nesting
    for args in (['tools/inner.py', status, 'x'],
                 ['-u', 'tools/inner.py', status, 'x']):
        through, real, tool = run_nested(nesting, args)
        expected = -signal.SIGTERM if status == 'signal' else int(status)
        assert through['returncode'] == real['returncode'] == expected
        assert through['stderr'] == real['stderr'] == 'to stderr\n'
        seen, seen_real = (json.loads(run['stdout'])
                           for run in (through, real))
        assert seen_real['ppid'] == tool  # the interpreter: the tool's child
        assert seen['ppid'] == server.pid  # through: the server's
        for key in ('argv', 'cwd', 'path', 'stdin', 'probe'):
            assert seen[key] == seen_real[key], key
        assert seen['argv'] == ['tools/inner.py', status, 'x']
        assert seen['stdin'] == 'in' and seen['cwd'] == str(root)


@pytest.mark.parametrize('args,env', [
    (['-c', 'import sys; print(sys.argv)'], {}),
    (['elsewhere.py', '0'], {}),  # not a script of tools/
    (['-B', 'tools/inner.py', '0'], {}),
    (['tools/inner.py', '0'], {'MIL_SEG_PROBE': 'read at import?'}),
    (['tools/inner.py', '0'], {'PYTHONPATH': '/elsewhere'}),
])
def test_what_the_server_may_not_run_runs_in_the_interpreter(
        nesting, args, env):
    """A command the server would not run as a fresh interpreter does (not
    a tool, interpreter options, a variable the imports may read, a
    ``PYTHONPATH`` without the server's entries) runs in the real
    interpreter, started by the tool, with the same result."""
    through, real, tool = run_nested(nesting, args, **env)
    assert through == real
    if args[0] != '-c':
        assert json.loads(through['stdout'])['ppid'] == tool


def test_added_python_path_entries_come_after_the_servers(nesting, tmp_path):
    """A ``PYTHONPATH`` with an entry beyond the server's is served, with
    that entry where a fresh interpreter puts it; one holding a module the
    server imported is not."""
    server, _ = nesting
    extra = tmp_path / 'extra'
    extra.mkdir()
    path = os.pathsep.join([tool_env()['PYTHONPATH'], str(extra)])
    through, real, _ = run_nested(nesting, ['tools/inner.py', '0'],
                                  PYTHONPATH=path)
    seen = json.loads(through['stdout'])
    assert seen['ppid'] == server.pid
    assert seen['path'] == json.loads(real['stdout'])['path']
    assert str(extra) in seen['path']
    (extra / 'tempfile.py').write_text('')  # the server imported tempfile
    through, real, tool = run_nested(nesting, ['tools/inner.py', '0'],
                                     PYTHONPATH=path)
    assert json.loads(through['stdout'])['ppid'] == tool


KILLER = '''
import os, signal, subprocess, sys, time
pids = sys.argv[1]
inner = subprocess.Popen([sys.executable, 'tools/sleeper.py', pids])
while not os.path.exists(pids):
    time.sleep(0.01)
os.kill(inner.pid, signal.SIG{name})
print(inner.wait())
'''
SLEEPER = '''
import os, sys, time
with open(sys.argv[1] + '.tmp', 'w') as f:
    f.write(str(os.getpid()))
os.rename(sys.argv[1] + '.tmp', sys.argv[1])
time.sleep(300)
'''


@pytest.mark.parametrize('name', ['TERM', 'KILL'])
def test_the_served_command_dies_with_the_executable(nesting, tmp_path, name):
    """SIGTERM to the executable reaches the served command (which dies of
    it, and the executable with the same signal); SIGKILL kills the
    executable, and the server then kills the command: nothing outlives
    the process that stands for it."""
    server, root = nesting
    write(root / 'tools' / 'sleeper.py', SLEEPER)
    script = write(tmp_path / 'killer.py', KILLER.replace('{name}', name))
    pids = tmp_path / 'pids'
    done = server.run([sys.executable, script, str(pids)], tool_env(),
                      cwd=str(root), timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == -getattr(signal, f'SIG{name}')
    assert_gone(int(pids.read_text()))


# ------------------------------------------------- a real tool, end to end
def test_a_tool_through_run_tool_as_a_fresh_process(server):
    """``tools/train.py --help`` through the server and fresh: the same
    output but for the ``mil_seg.compat:`` lines on stderr, which only a
    fresh process prints (at its import of the package)."""
    runs = server.runs
    with no_server_warning():
        served = run_tool('tools/train.py', '--help')
    assert server.runs == runs + 1  # served, not run fresh
    fresh = run_tool('tools/train.py', '--help', fresh=True)
    assert served.args == fresh.args == [sys.executable, 'tools/train.py',
                                         '--help']
    assert served.returncode == fresh.returncode == 0
    compat = [line for line in fresh.stderr.splitlines()
              if 'mil_seg.compat: ' in line]
    assert compat  # this environment needs at least one shim
    assert 'mil_seg.compat' not in fresh.stdout  # the tool's output alone
    assert served.stdout == fresh.stdout
    assert served.stderr == ''.join(
        line + '\n' for line in fresh.stderr.splitlines()
        if line not in compat)
