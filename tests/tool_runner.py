"""Running the repository's tools in subprocesses, for the tests that drive
``tools/`` end to end (imported by them; not a test module).

The tool server
---------------
Every ``python tools/....py`` or ``python -m mil_seg....`` a test starts
would import torch, MMEngine, MMSegmentation, MMPretrain and the package
before doing anything, most of what such a short run costs, and the suite
starts many of them. Each test process (each xdist worker) therefore starts,
at its first such run, one tool server (``tests/tool_server.py``, a
"zygote") that imports the package once and then forks a child per run;
the child makes itself a fresh interpreter's process (a session of its
own, the run's working directory, environment, ``/dev/null`` stdin,
stdout and stderr, ``sys.argv``, ``sys.path[0]``, ``__main__``, fresh
random seeds), runs the tool as ``python`` would and ends as the
interpreter would (less the teardown of every module: see
``tests/tool_server.py``). :func:`run_command` returns what
``subprocess.run(args, capture_output=True, text=True)`` would: a
``CompletedProcess`` of the caller's ``args``, the exit status (minus the
signal that killed it) and the output, or ``subprocess.TimeoutExpired``
once the child's process group is killed.

The server runs a command only where it stands in for a fresh process:
``python SCRIPT ...`` of a script under ``tools/`` or ``python -m
mil_seg...``, with no environment variables added by the caller. The
server imports with the tools' environment (:func:`tool_env`); where the
test process's environment has changed since (but for
``PYTEST_CURRENT_TEST``, which pytest changes per test and nothing reads at
import), a new server replaces it. Everything else (``-c``, ``-m pip``,
other scripts and modules, interpreter options, ``bash``, added variables)
runs in a fresh process, as does any command given ``fresh=True``: a test
that checks what happens at import, or what an import prints (the
``mil_seg.compat: ...`` lines are printed once, by the server's import, so
never by a forked tool), must pass it.

``MIL_SEG_TEST_FRESH_PROCESSES=1`` in the environment of pytest turns the
server off: every command then runs in a fresh process (e.g. to compare
the two in CI). A server that cannot start, or dies, turns itself off for
the rest of the test process with a :class:`ToolServerWarning` (in
pytest's warnings summary), and the command runs in a fresh process:
tests never fail because of the server. ``tests/test_tool_runner.py``
checks that the server starts and runs tools as fresh processes do.

What a served tool starts itself (the benchmark its trainings,
``tools/dist_train.sh``'s torchrun its ranks) runs in the server too: the
tool's ``sys.executable`` is the server's executable
(``tests/served_python.py``), which hands a command of the tools (or
torchrun) to the server and is the real interpreter for anything else.
:func:`tool_python` gives that executable to a command the test starts
itself (``tools/dist_train.sh``, a benchmark to be killed).

Known differences from a fresh process: the package's import-time output
(see above); the hash seed of ``str`` is the server's in all its children;
a warning issued once during the server's imports is not issued again;
objects that only the modules' teardown at exit would finalise (a file
left open in a module's global, not the tool's ``__main__``) are not;
the run returns once the tool exits, not when the last process it started
closes the tool's stdout and stderr; ``sys.executable`` is the server's
executable; a served command's ``/proc/PID/cmdline`` is the server's;
and the resource use its parent reads (``wait4``: peak RSS) is that of
the executable standing for it.
"""
import atexit
import json
import locale
import os
import os.path as osp
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from typing import Dict, List, Optional, Sequence

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_GML = osp.join(ROOT, 'configs', 'gml_seg',
                    'demo_gml_tiny_1xb8-1k_synthetic-lt-64x64.py')

#: Set to ``1`` to run every command in a fresh process (no tool server).
FRESH_PROCESSES = 'MIL_SEG_TEST_FRESH_PROCESSES'
#: The server's code (see its docstring).
SERVER_PATH = osp.join(ROOT, 'tests', 'tool_server.py')
#: ``python -c`` of the server: its file executed in a namespace of its
#: own, so that it is in neither ``sys.modules`` nor the tools' ``__main__``.
SERVER_SOURCE = f"""\
import sys
with open({SERVER_PATH!r}, 'rb') as f:
    code = compile(f.read(), {SERVER_PATH!r}, 'exec')
server = dict(__name__='mil_seg_tool_server', __file__={SERVER_PATH!r},
              __builtins__=__builtins__)
exec(code, server)
sys.exit(server['main']())
"""
#: Environment variables that change while the server lives and that
#: nothing reads at import: a forked tool gets their current values.
VOLATILE_ENV = frozenset({'PYTEST_CURRENT_TEST'})
#: Scripts the server runs: the repository's tools.
SERVED_SCRIPTS = osp.realpath(osp.join(ROOT, 'tools'))
#: Modules the server runs (with their submodules).
SERVED_PACKAGE = 'mil_seg'
#: Seconds the server may take to import the package.
STARTUP_TIMEOUT = 600
#: Seconds the server may take to answer that it started a tool, or that
#: the tool it killed has ended.
KILL_TIMEOUT = 60


def tool_env(**extra) -> dict:
    """Environment of a tool subprocess: one thread, the repo importable."""
    env = dict(os.environ, PYTHONWARNINGS='ignore', OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = os.pathsep.join(
        [ROOT, env.get('PYTHONPATH', '')]).rstrip(os.pathsep)
    env.update(extra)
    return env


class ToolServerWarning(UserWarning):
    """The tool server failed: commands run in fresh processes."""


class ToolServerError(RuntimeError):
    """The tool server could not run a command (the command's own failures
    are its exit status).

    Args:
        message (str): What failed.
        started (bool): Whether the command had started (it may have done
            part of its work).
    """

    def __init__(self, message: str, started: bool = False) -> None:
        super().__init__(message)
        self.started = started


class _Late(Exception):
    """No reply from the server by the deadline."""


def _text(data: bytes) -> str:
    """``data`` as ``subprocess.run(..., text=True)`` decodes it: the
    locale's encoding, universal newlines."""
    if sys.flags.utf8_mode:
        encoding = 'utf-8'
    elif hasattr(locale, 'getencoding'):  # Python 3.11+
        encoding = locale.getencoding()
    else:
        encoding = locale.getpreferredencoding(False)
    return data.decode(encoding).replace('\r\n', '\n').replace('\r', '\n')


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class ToolServer:
    """The test process's end of one tool server (``tests/tool_server.py``).

    Starting it blocks until the server has imported the package.

    Args:
        env (dict, optional): The environment the server imports with,
            which the tools it runs must have. Defaults to
            :func:`tool_env`.
        preload (Sequence[str], optional): Modules the server imports
            before it forks. Defaults to the server's own (the package):
            the tests of the server's mechanics give the standard library's
            ``json``, which starts in a fraction of a second.
        startup_timeout (float): Seconds the import may take.
        scripts (str): The folder whose scripts the commands that the
            served tools start may run in the server (see
            :class:`Nested` in ``tests/tool_server.py``). Defaults to
            ``tools/``.

    Raises:
        ToolServerError: The server did not start.
    """

    def __init__(self,
                 env: Optional[Dict[str, str]] = None,
                 preload: Optional[Sequence[str]] = None,
                 startup_timeout: float = STARTUP_TIMEOUT,
                 scripts: str = SERVED_SCRIPTS) -> None:
        #: The environment the server imported with (a tool's must match).
        self.env = tool_env() if env is None else dict(env)
        #: Commands run so far.
        self.runs = 0
        self._buffer = b''
        self._tmp = tempfile.mkdtemp(prefix='mil_seg-tool-server-')
        self._log = open(osp.join(self._tmp, 'server.log'), 'w+b')
        self._process = subprocess.Popen(
            [sys.executable, '-c', SERVER_SOURCE, scripts, *(preload or ())],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log)
        try:
            try:
                hello = self._receive(time.monotonic() + startup_timeout)
            except _Late:
                raise ToolServerError('the tool server did not import the '
                                      f'package within {startup_timeout} s:'
                                      f'\n{self.log()}') from None
            if not hello.get('ready'):
                raise ToolServerError(
                    f'the tool server did not start:\n{hello.get("error")}')
            #: The served tools' ``sys.executable``: ``python`` that runs
            #: what it may in this server (a command of the repository's
            #: tools, ``torchrun``), and is the real interpreter otherwise.
            self.python: str = hello['python']
        except BaseException:
            self.close()
            raise

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self._process.pid

    def alive(self) -> bool:
        """Whether the server process still runs."""
        return self._process.poll() is None

    def log(self) -> str:
        """The end of what the server printed (its imports, a crash)."""
        self._log.flush()
        self._log.seek(0)
        return self._log.read()[-4000:].decode(errors='replace')

    def run(self,
            args: List[str],
            env: Dict[str, str],
            timeout: Optional[float] = None,
            cwd: str = ROOT) -> subprocess.CompletedProcess:
        """``subprocess.run(args, cwd=cwd, env=env, capture_output=True,
        text=True, timeout=timeout)``, in a child of the server.

        Args:
            args (list[str]): ``[sys.executable, SCRIPT, ...]`` or
                ``[sys.executable, '-m', MODULE, ...]``.
            env (dict): The tool's whole environment: :attr:`env` but for
                ``VOLATILE_ENV`` (what the server's imports saw).
            timeout (float, optional): Seconds before the tool's process
                group is killed.
            cwd (str): The tool's working directory.

        Returns:
            subprocess.CompletedProcess: Of ``args``, the exit status and
            the decoded output.

        Raises:
            subprocess.TimeoutExpired: The tool ran out of time (its
                process group is killed); the output so far, as bytes.
            ToolServerError: The server failed; ``started`` on it says
                whether the tool may have run.
        """
        if args[1] == '-m':
            kind, target, rest = 'module', args[2], args[3:]
        else:
            kind, target, rest = 'script', args[1], args[2:]
        capture = tempfile.mkdtemp(dir=self._tmp)
        out, err = osp.join(capture, 'stdout'), osp.join(capture, 'stderr')
        deadline = None if timeout is None else time.monotonic() + timeout
        pid = None
        try:
            self._send(
                dict(kind=kind, target=target, args=list(rest),
                     orig_argv=list(args), cwd=cwd, env=env, stdout=out,
                     stderr=err))
            try:
                # The child is set up in milliseconds: a server that takes
                # longer to answer is broken, however short the timeout.
                reply = self._receive(time.monotonic() + KILL_TIMEOUT)
            except _Late:
                raise ToolServerError(
                    'the tool server did not start the tool within '
                    f'{KILL_TIMEOUT} s') from None
            if 'pid' not in reply:
                raise ToolServerError(reply.get('error', repr(reply)))
            pid = reply['pid']
            self.runs += 1
            try:
                reply = self._receive(deadline)
            except _Late:
                _kill_group(pid)
                pid = None
                try:
                    self._receive(time.monotonic() + KILL_TIMEOUT)
                except (_Late, ToolServerError):
                    self.close()  # tool_server() reports it next time
                raise subprocess.TimeoutExpired(
                    args, timeout, output=self._read(out) or None,
                    stderr=self._read(err) or None) from None
            pid = None
            return subprocess.CompletedProcess(args, reply['returncode'],
                                               _text(self._read(out)),
                                               _text(self._read(err)))
        except subprocess.TimeoutExpired:
            raise
        except BaseException as error:
            # The server failed, or KeyboardInterrupt, a broken pipe: the
            # tool does not outlive the request, and a server in an unknown
            # state is closed.
            if isinstance(error, ToolServerError):
                error.started = pid is not None
            if pid is not None:
                _kill_group(pid)
            self.close()
            raise
        finally:
            shutil.rmtree(capture, ignore_errors=True)

    @staticmethod
    def _read(path: str) -> bytes:
        try:
            with open(path, 'rb') as f:
                return f.read()
        except FileNotFoundError:
            return b''

    def _send(self, message: dict) -> None:
        try:
            self._process.stdin.write((json.dumps(message) + '\n').encode())
            self._process.stdin.flush()
        except OSError as error:
            raise ToolServerError(
                f'the tool server is gone: {error}\n{self.log()}') from error

    def _receive(self, deadline: Optional[float]) -> dict:
        """The server's next reply; :class:`_Late` once ``deadline`` (of
        ``time.monotonic()``) has passed."""
        fd = self._process.stdout.fileno()
        while b'\n' not in self._buffer:
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                raise _Late()
            if not select.select([fd], [], [], wait)[0]:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                raise ToolServerError(
                    'the tool server exited (status '
                    f'{self._process.poll()}):\n{self.log()}')
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b'\n', 1)
        try:
            return json.loads(line)
        except ValueError:
            # something else wrote to the replies' pipe
            raise ToolServerError(
                f'the tool server replied {line[:1000]!r}:\n{self.log()}'
            ) from None

    def close(self) -> None:
        """End the server (closing its stdin ends it) and remove its files."""
        if self._process.stdin is not None and not self._process.stdin.closed:
            try:
                self._process.stdin.close()
            except OSError:
                pass
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout:
            self._process.stdout.close()
        self._log.close()
        shutil.rmtree(self._tmp, ignore_errors=True)


_server: Optional[ToolServer] = None
#: Servers started in this process (one, unless its environment changed).
server_starts = 0
#: ``preload`` of the servers :func:`tool_server` starts (None: the
#: package); the tests of the restarts give a lighter one.
SERVER_PRELOAD: Optional[Sequence[str]] = None
#: Why the server is off in this process (it failed), or None.
_server_off: Optional[str] = None
#: One command at a time through the server; others run fresh.
_server_lock = threading.Lock()


def _warn(message: str) -> None:
    warnings.warn(message, ToolServerWarning, stacklevel=4)


def _stable(env: Dict[str, str]) -> Dict[str, str]:
    return {key: value for key, value in env.items()
            if key not in VOLATILE_ENV}


def tool_server(env: Optional[Dict[str, str]] = None
                ) -> Optional[ToolServer]:
    """This process's tool server for environment ``env``; None where the
    server is off (``MIL_SEG_TEST_FRESH_PROCESSES=1``, or it failed).

    Started at the first call, and started again (the old one ended) when
    ``env`` is not the one it imported with: the test process's
    environment changed (code under test sets ``LOCAL_RANK`` in it, as
    mmengine's launchers do), and a fresh tool would import with the new
    one.

    Args:
        env (dict, optional): The tools' environment. Defaults to
            :func:`tool_env`.

    Returns:
        ToolServer, optional: The server.
    """
    global _server, _server_off, server_starts
    if os.environ.get(FRESH_PROCESSES) == '1' or _server_off is not None:
        return None
    env = tool_env() if env is None else env
    if _server is not None and not _server.alive():
        _server_failed(f'the tool server (pid {_server.pid}) died:\n'
                       f'{_server.log()}')
        return None
    if _server is not None and _stable(_server.env) != _stable(env):
        stop_tool_server()
    if _server is None:
        try:
            _server = ToolServer(env, preload=SERVER_PRELOAD)
        except (ToolServerError, OSError, subprocess.SubprocessError) as error:
            _server_failed(f'the tool server did not start: {error}')
            return None
        server_starts += 1
    return _server


def _server_failed(reason: str) -> None:
    global _server, _server_off
    _server_off = reason
    if _server is not None:
        _server.close()
        _server = None
    _warn(f'{reason}\nCommands run in fresh processes from now on.')


def stop_tool_server() -> None:
    """End this process's tool server, if any (at exit, or to restart)."""
    global _server
    if _server is not None:
        _server.close()
        _server = None


atexit.register(stop_tool_server)


def servable(args: List[str]) -> bool:
    """Whether the tool server runs command ``args`` (with the environment
    it imported with) as a fresh process would: ``python SCRIPT ...`` of a
    script under ``tools/``, or ``python -m mil_seg...``.

    Args:
        args (list[str]): The command.

    Returns:
        bool: Whether to use the server.
    """
    if len(args) < 2 or args[0] != sys.executable:
        return False
    if args[1] == '-m':
        return len(args) > 2 and (args[2] == SERVED_PACKAGE or
                                  args[2].startswith(SERVED_PACKAGE + '.'))
    if args[1].startswith('-') or not args[1].endswith('.py'):
        return False  # -c, interpreter options, stdin, directories
    script = osp.realpath(osp.join(ROOT, args[1]))
    return osp.isfile(script) and script.startswith(SERVED_SCRIPTS + os.sep)


def _run_fresh(args: List[str], timeout: Optional[float],
               env: Dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        args,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env)


def run_command(args: List[str], timeout: int = 600, fresh: bool = False,
                **env) -> subprocess.CompletedProcess:
    """Run a command from the repository root, capturing its output (the
    tool server's child where it stands in for a fresh process, see the
    module's docstring).

    Args:
        args (list[str]): The command.
        timeout (int): Seconds before it is killed and
            ``subprocess.TimeoutExpired`` raised.
        fresh (bool): Run it in a fresh process in any case (a test of
            what happens, or is printed, at import).
        **env: Variables added to the environment (the command then runs
            in a fresh process).

    Returns:
        subprocess.CompletedProcess: As ``subprocess.run(args,
        capture_output=True, text=True)`` returns it.
    """
    environment = tool_env(**env)
    if (fresh or env or os.environ.get(FRESH_PROCESSES) == '1'
            or not servable(args)):
        return _run_fresh(args, timeout, environment)
    if not _server_lock.acquire(blocking=False):
        return _run_fresh(args, timeout, environment)  # another thread's
    try:
        server = tool_server(environment)
        if server is None:
            return _run_fresh(args, timeout, environment)
        try:
            return server.run(args, environment, timeout)
        except ToolServerError as error:
            _server_failed(
                f'the tool server failed on {args[1:3]}: {error}' +
                ('\n(the command ran in part; it runs again in a fresh '
                 'process)' if error.started else ''))
            return _run_fresh(args, timeout, environment)
    finally:
        _server_lock.release()


def run_tool(*args, timeout: int = 600, fresh: bool = False,
             **env) -> subprocess.CompletedProcess:
    """Run ``python <tool> args...`` from the repository root (see
    :func:`run_command`; ``fresh=True``: in a fresh process in any case)."""
    return run_command([sys.executable, *args], timeout=timeout, fresh=fresh,
                       **env)


def free_port() -> int:
    """A TCP port free on this machine now (for a process group)."""
    import socket
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def tool_python() -> str:
    """The ``python`` for a command that starts the repository's tools
    itself (``tools/dist_train.sh``'s torchrun, a benchmark): the tool
    server's executable, which runs them in the server (see
    ``tests/tool_server.py``), or ``sys.executable`` where the server is
    off."""
    with _server_lock:
        server = tool_server()
    return sys.executable if server is None else server.python


def run_dist_train(config, work_dir, options: list, processes: int = 2,
                   timeout: int = 600, **env):
    """``tools/dist_train.sh config processes`` (gloo on the CPU), its
    output captured; torchrun and its ranks run in the tool server where
    it is on (:func:`tool_python`)."""
    return run_command(
        [
            'bash', osp.join(ROOT, 'tools', 'dist_train.sh'), str(config),
            str(processes), '--work-dir', str(work_dir), *options
        ],
        timeout=timeout,
        PYTHON=tool_python(),
        PORT=str(free_port()),
        **env)


def small_seg_options(data_root: str, max_iters: int, *extra: str) -> list:
    """``--cfg-options`` for a tiny, deterministic demo run on ``data_root``
    (32 x 32 images, batch 2, no workers, checkpoints every 2 iterations)."""
    options = [
        f'train_dataloader.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}',
        'train_dataloader.dataset.auto_generate=False',
        'val_dataloader.dataset.auto_generate=False',
        'test_dataloader.dataset.auto_generate=False',
        f'val_evaluator.prior={data_root}/class_prior.json',
        f'test_evaluator.prior={data_root}/class_prior.json',
        'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        'model.data_preprocessor.size=[32,32]',
        f'train_cfg.max_iters={max_iters}', 'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=2',
        'default_hooks.logger.interval=1', 'param_scheduler=[]',
        'model.decode_head.queue.size=256',
        'model.decode_head.anchor_sampler.max_anchors_per_image=32',
        *extra
    ]
    return ['--cfg-options', *options]


CLS_CONFIGS = osp.join(ROOT, 'configs', 'gml_cls')
CLS_EMA = osp.join(CLS_CONFIGS,
                   'gml-ema_resnet32_1xb128-200e_cifar10lt-r100.py')
CLS_TEACHER = osp.join(CLS_CONFIGS,
                       'gml-teacher_resnet56_1xb128-200e_cifar10lt-r100.py')
CLS_STUDENT = osp.join(CLS_CONFIGS,
                       'gml_resnet32-resnet56_1xb128-200e_cifar10lt-r100.py')
CLS_NUM_CLASSES = 10


def write_image_folders(root: str, per_class: int = 8, empty=()) -> str:
    """CIFAR-10 style JPEG folders ``root/{train,val}/class<k>/*.jpg`` of
    random 32 x 32 images (``empty`` training classes get none)."""
    import cv2
    import numpy as np
    rng = np.random.default_rng(0)
    for split, count in (('train', per_class), ('val', 2)):
        for k in range(CLS_NUM_CLASSES):
            folder = osp.join(root, split, f'class{k}')
            os.makedirs(folder, exist_ok=True)
            n = 0 if split == 'train' and k in empty else count
            for i in range(n):
                image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                cv2.imwrite(osp.join(folder, f'{i:03d}.jpg'), image)
    return root


def cls_options(data_root: str, max_epochs: int, *extra: str) -> list:
    """``--cfg-options`` of a tiny CIFAR-10-LT folder run: 8 images per
    class before the long-tail subset (21 after), batch 8, no workers, a
    checkpoint and a validation every epoch, seed 0 (the classification
    runtime leaves the seed to chance)."""
    return [
        '--cfg-options',
        f'train_dataloader.dataset.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}',
        'train_dataloader.batch_size=8', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.batch_size=8', 'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'test_dataloader.batch_size=8', 'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        f'train_cfg.max_epochs={max_epochs}', 'train_cfg.val_interval=1',
        'default_hooks.checkpoint.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=-1',
        'default_hooks.logger.interval=1', 'randomness.seed=0', *extra
    ]


#: Queue of the classification runs: 10 x base 2 + 20, so the head
#: classes' rings wrap within two epochs.
CLS_QUEUE_SIZE = 40


def cls_run_options(data_root: str, *more: str):
    """``options(epochs, *extra)`` of the shared classification runs
    (tests/conftest.py): :func:`cls_options` with the queue of
    ``CLS_QUEUE_SIZE`` and ``more``."""
    return lambda epochs, *extra: cls_options(
        data_root, epochs, f'model.head.queue.size={CLS_QUEUE_SIZE}', *more,
        *extra)


def train_ok(config: str, work_dir, options: list, resume=None):
    """``tools/train.py config`` that must succeed; ``resume`` is a
    checkpoint path, or True for ``--resume`` without one (the latest
    checkpoint of ``work_dir``)."""
    args = ['tools/train.py', str(config), '--work-dir', str(work_dir)]
    if resume is True:
        args.append('--resume')
    elif resume is not None:
        args += ['--resume', str(resume)]
    result = run_tool(*args, *options)
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def logged_losses(work_dir) -> dict:
    """iteration -> logged training losses, from every run in work_dir."""
    import glob
    import json
    losses = {}
    for path in sorted(
            glob.glob(osp.join(str(work_dir), '*', 'vis_data',
                               'scalars.json'))):
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                if 'loss' in record:
                    losses[record['iter']] = {
                        key: value
                        for key, value in record.items() if 'loss' in key
                    }
    return losses


def resume_runs(root, config: str, options, last: int, unit: str) -> dict:
    """The runs of the exact-resume checks, in ``root``: ``full`` trains
    ``last`` iterations (epochs) at once; ``resumed`` trains ``last // 2``
    and resumes from that checkpoint with ``--resume PATH``; ``reseeded``
    does the same without the random-state hook
    (``resume_random_state=False``), resuming with a bare ``--resume`` (the
    latest checkpoint of its work dir).

    Args:
        root (pathlib.Path): Parent of the three work dirs.
        config (str): The config.
        options (callable): ``options(max_iters, *extra)`` -> the
            ``--cfg-options`` of a run.
        last (int): Iterations (epochs) of a whole run.
        unit (str): ``'iter'`` or ``'epoch'``: the checkpoints' names.

    Returns:
        dict: Per run, the last checkpoint (loaded with the default
        ``torch.load``, weights_only on torch >= 2.6) plus ``losses`` (the
        logged losses by iteration), ``work_dir`` and ``resume_result``
        (the resuming subprocess; None for ``full``).
    """
    import torch
    half = last // 2
    results = {'full': None}
    train_ok(config, root / 'full', options(last))
    for name, extra, resume in (
            ('resumed', (), root / 'resumed' / f'{unit}_{half}.pth'),
            ('reseeded', ('resume_random_state=False', ), True)):
        train_ok(config, root / name, options(half, *extra))
        results[name] = train_ok(config, root / name,
                                 options(last, *extra), resume=resume)
    return {
        name: dict(
            torch.load(root / name / f'{unit}_{last}.pth',
                       map_location='cpu'),
            losses=logged_losses(root / name),
            work_dir=root / name,
            resume_result=results[name])
        for name in results
    }
