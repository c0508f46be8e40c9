"""The tool server of ``tests/tool_runner.py``: a "zygote" that imports the
package once and forks a child per tool run, which then runs the tool as
``python SCRIPT ARGS`` or ``python -m MODULE ARGS`` would in a fresh
interpreter, and ends as that interpreter would (see :meth:`Tool.exit`
for what it leaves out).

Not a test module and not imported by the tests: ``tool_runner`` starts it
as ``python -c SERVER_SOURCE``, which executes this file in a namespace of
its own (so that neither ``sys.modules`` nor ``__main__`` of the tools it
runs holds the server) and exits with the status :func:`main` returns.
Everything above :func:`main` uses the standard library only; the package
is imported by :func:`main` (``PRELOAD``), before the first fork.

Protocol: one JSON object per line on the server's stdin (requests) and
stdout (replies); the server's own fds 0 and 1 are moved off those pipes
at start, so that nothing the imports print can reach the replies:

* server: ``{"ready": true, "pid": N, "python": PATH}`` once imported
  (``PATH``: see below), or ``{"error": S}`` (then it exits with status 1);
* test process: ``{"kind": "script" | "module", "target": PATH | NAME,
  "args": [...], "orig_argv": [...], "cwd": DIR, "env": {...},
  "stdout": PATH, "stderr": PATH}``, the tool's arguments after the
  script or module;
* server: ``{"pid": N}`` once the child is set up and about to run the
  tool (``N`` leads its own session and process group), or
  ``{"error": S}`` where nothing of the tool ran;
* server: ``{"returncode": N}`` when the child has ended: its exit status,
  or minus the signal that killed it (as ``subprocess`` reports it).

Nested commands: every child gets, as ``sys.executable``, the executable
``PATH`` (``tests/served_python.py``), through which the ``python`` commands
that a tool starts (the benchmark's trainings, torchrun and its ranks)
reach the server over a Unix socket, with their standard fds; the server
runs those that a fork runs as a fresh interpreter would (:class:`Nested`)
and refuses the others, which then run in the real interpreter. The loop
(:class:`Server`) serves both at once, in one thread.

Closing the server's stdin ends it, killing what still runs.
"""
import builtins
import gc
import json
import os
import select
import shutil
import socket
import sys
import tempfile
import traceback
import types
from typing import Dict, NoReturn, Optional

#: What every tool imports anyway, imported once here: the package (torch,
#: MMEngine, MMSegmentation and MMPretrain with it, every module
#: registered, the compatibility layer applied) and the runner.
PRELOAD = ('mil_seg', 'mmengine.runner')


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def _send(fd: int, message: dict) -> None:
    _write_all(fd, (json.dumps(message) + '\n').encode())


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return b''.join(chunks)
        chunks.append(chunk)


def _fork_unsafe() -> Optional[str]:
    """Why forking this process now would not give a sound child, or None.

    A thread other than the one forking is missing in the child, with any
    lock it held (torch's intra-op pool, a logging handler's thread); CUDA
    cannot be used in a child forked after its initialisation.
    """
    try:
        threads = len(os.listdir('/proc/self/task'))  # threads of C code too
    except FileNotFoundError:  # no procfs: Python's threads only
        import threading
        threads = threading.active_count()
    if threads != 1:
        return f'the tool server runs {threads} threads: forking it is unsafe'
    torch = sys.modules.get('torch')
    if torch is not None and torch.cuda.is_initialized():
        return 'the tool server initialised CUDA: forking it is unsafe'
    return None


class Tool:
    """One tool run, in the forked child: :meth:`prepare` makes the process
    look like a fresh ``python`` started for the request, :meth:`run` runs
    the tool and :meth:`exit` ends the process the way that interpreter
    would.

    Args:
        request (dict): The request (see the module's docstring).
        import_env (dict): What the server's imports changed in its
            environment (None: removed), which the tool's own imports
            would have changed in its (OpenCV sets ``LD_LIBRARY_PATH``,
            torch ``TORCHINDUCTOR_CACHE_DIR``, ...).
        path0 (bool): Whether the server's ``sys.path[0]`` is the entry
            that ``python -c`` inserted (not with ``PYTHONSAFEPATH``): a
            real run inserts the script's directory, or the working
            directory for ``-m``, there instead.
        fds (list[int], optional): A nested command's stdin, stdout and
            stderr. Defaults to None (the test process's request: stdin
            ``/dev/null``, the output into the files it names).
        python (str, optional): The tool's ``sys.executable`` (see
            :class:`Nested`). Defaults to None (the server's).
    """

    def __init__(self, request: dict, import_env: Dict[str, Optional[str]],
                 path0: bool, fds: Optional[list] = None,
                 python: Optional[str] = None) -> None:
        self.kind = request['kind']
        self.target = request['target']
        self.args = list(request['args'])
        self.orig_argv = list(request['orig_argv'])
        self.cwd = request['cwd']
        self.env: Dict[str, str] = request['env']
        self.import_env = import_env
        self.stdout = request.get('stdout')
        self.stderr = request.get('stderr')
        self.fds = fds
        self.unbuffered = bool(request.get('unbuffered')
                               or self.env.get('PYTHONUNBUFFERED'))
        self.python = python
        self.extra_path = request.get('extra_path', [])
        self.path0 = path0
        #: Whether the tool ended with an uncaught KeyboardInterrupt.
        self.interrupted = False

    def prepare(self) -> None:
        """Session, working directory, environment, standard fds, random
        state, ``sys.argv``, ``sys.path`` and ``__main__`` of a fresh run."""
        # The child leads a process group of its own: the test process
        # kills the tool and everything it started with one killpg.
        os.setsid()
        os.chdir(self.cwd)
        # Through os.environ, so that the C environment (putenv) changes
        # too: subprocesses of the tool inherit it.
        os.environ.clear()
        os.environ.update(self.env)
        for key, value in self.import_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._redirect_fds()
        self._fresh_state()
        main = types.ModuleType('__main__')
        main.__builtins__ = builtins
        main.__annotations__ = {}  # CPython's __main__ starts with them
        if self.kind == 'script':
            # CPython: __file__ is absolute (3.9+), sys.argv[0] as given,
            # sys.path[0] the script's directory, symbolic links resolved.
            script = os.path.abspath(self.target)
            main.__file__ = script
            main.__cached__ = None
            from importlib.machinery import SourceFileLoader
            main.__loader__ = SourceFileLoader('__main__', script)
            sys.argv = [self.target, *self.args]
            path0 = os.path.dirname(os.path.realpath(script))
        else:
            # runpy._run_module_as_main sets sys.argv[0] to the module's
            # file once found, as `python -m` does.
            sys.argv = ['-m', *self.args]
            path0 = os.getcwd()
        if self.path0:
            sys.path[0] = path0
        if self.extra_path:
            # a nested command's PYTHONPATH entries beyond the server's,
            # where a fresh interpreter puts them: after the server's
            base = _python_path(self.env.get('PYTHONPATH'))
            after = max([index for index, entry in enumerate(sys.path)
                         if entry and index > 0 and os.path.realpath(entry)
                         in base and entry not in self.extra_path] or [0])
            sys.path[after + 1:after + 1] = self.extra_path
        if hasattr(sys, 'orig_argv'):
            sys.orig_argv = self.orig_argv
        if self.python is not None:
            sys.executable = self.python
        sys.modules['__main__'] = main

    def _redirect_fds(self) -> None:
        # The tool writes to fds 1 and 2 however it got them: sys.stdout
        # and sys.stderr (the server's objects, on fds 1 and 2, flushed
        # before the fork), logging handlers created at import holding
        # those objects, C code, and its own subprocesses.
        if self.fds is not None:
            for fd, given in enumerate(self.fds):
                os.dup2(given, fd)
            for given in self.fds:
                if given > 2:
                    os.close(given)
            self.fds = None
        else:
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.close(null)
            for fd, path in ((1, self.stdout), (2, self.stderr)):
                capture = os.open(path,
                                  os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                                  0o600)
                os.dup2(capture, fd)
                os.close(capture)
        if self.unbuffered:
            # `python -u`: text streams written through to unbuffered files
            import io
            for name, fd in (('stdout', 1), ('stderr', 2)):
                old = getattr(sys, name)
                stream = io.TextIOWrapper(
                    io.FileIO(fd, 'w', closefd=False),
                    encoding=old.encoding, errors=old.errors,
                    write_through=True)
                setattr(sys, name, stream)
                setattr(sys, f'__{name}__', stream)

    def _fresh_state(self) -> None:
        """What a fresh interpreter has that the server's copy lacks."""
        import importlib
        import linecache
        # Files written since the server's imports (directory listings of
        # sys.path entries; source lines of tracebacks) are read anew.
        importlib.invalidate_caches()
        linecache.clearcache()
        tempfile.tempdir = None  # chosen from TMPDIR & co. on first use
        # Every fresh process seeds its random streams differently (the
        # random module reseeds itself in a forked child).
        numpy = sys.modules.get('numpy')
        if numpy is not None:
            numpy.random.seed()
        torch = sys.modules.get('torch')
        if torch is not None:
            torch.default_generator.seed()  # the CPU's; CUDA is untouched
            threads = self.env.get('OMP_NUM_THREADS', '')
            if threads.isdigit() and int(threads) > 0:
                torch.set_num_threads(int(threads))

    def run(self) -> int:
        """Run the tool, as the interpreter's main program.

        Returns:
            int: The exit status a fresh interpreter would end with:
            ``SystemExit`` mapped as the interpreter maps it (None: 0, an
            int: itself, anything else printed to stderr: 1), any other
            exception printed by ``sys.excepthook`` from the tool's first
            frame on (the server's frames left out): 1.
        """
        try:
            if self.kind == 'script':
                main = sys.modules['__main__']
                with open(main.__file__, 'rb') as f:
                    source = f.read()
                code = compile(source, main.__file__, 'exec',
                               dont_inherit=True)
                exec(code, main.__dict__)
            else:
                import runpy
                runpy._run_module_as_main(self.target, alter_argv=True)
        except SystemExit as error:
            return _exit_status(error.code)
        except BaseException as error:  # noqa: B902 (the interpreter's)
            trace = _tool_traceback(error.__traceback__)
            error.__traceback__ = trace
            sys.last_type, sys.last_value = type(error), error
            sys.last_traceback = trace
            sys.excepthook(type(error), error, trace)
            self.interrupted = isinstance(error, KeyboardInterrupt)
            return 1
        return 0

    def exit(self, status: int) -> NoReturn:
        """End the child as the interpreter would end with ``status``, less
        the teardown of the modules.

        The interpreter joins the non-daemon threads, runs the atexit
        functions (those registered at the server's imports too, as a
        fresh run registers them at its own), flushes the standard streams
        and tears down every module. The last would touch, and so copy,
        every page of the server's heap that the child shares: instead, the
        tool's ``__main__`` is cleared and its garbage collected (the
        server's heap is frozen: :func:`gc.freeze`), so that what the tool
        holds is finalised.
        """
        import atexit
        import gc
        import threading
        shutdown = getattr(threading, '_shutdown', None)
        if shutdown is not None:
            shutdown()
        atexit._run_exitfuncs()
        sys.modules['__main__'].__dict__.clear()
        gc.collect()
        for stream in (sys.stdout, sys.stderr):
            try:
                if stream is not None:
                    stream.flush()
            except Exception:  # noqa: B902 (CPython: status 120)
                status = 120
        if self.interrupted:
            # An uncaught KeyboardInterrupt: CPython kills itself with
            # SIGINT once finalised.
            import signal
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        os._exit(status & 0xFF)


def _exit_status(code) -> int:
    """The exit status of ``SystemExit(code)`` as CPython's
    ``handle_system_exit`` makes it (printing a code that is not an int)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code if -2**63 <= code < 2**63 else -1
    try:
        sys.stderr.write(f'{code}\n')
        sys.stderr.flush()
    except Exception:  # noqa: B902 (nowhere to print it)
        pass
    return 1


def _tool_traceback(trace: Optional[types.TracebackType]):
    """The entries of ``trace`` after :meth:`Tool.run`'s: the traceback the
    tool would have had as the interpreter's main program."""
    entry = trace
    while entry is not None:
        if entry.tb_frame.f_code is Tool.run.__code__:
            return entry.tb_next
        entry = entry.tb_next
    return trace


#: Environment variables that a nested command (see :class:`Nested`) may
#: have that the server's imports did not see, because nothing reads them
#: at import: torchrun's (and its agent's) per-rank variables, Slurm's
#: (a job's and an srun task's, and the cluster's ``SLURM_CONF``), the
#: thread counts (applied to torch by :meth:`Tool._fresh_state`), the
#: temporary folder (read on first use, reset there too), ``-u`` as a
#: variable, what ``tools/dist_train.sh`` and ``tools/slurm_train.sh``
#: read, and a shell's bookkeeping.
RUNTIME_ENV = frozenset({
    '_', 'SHLVL', 'PWD', 'OLDPWD', 'HOSTNAME', 'ENVIRONMENT', 'TMPDIR',
    'RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'LOCAL_WORLD_SIZE', 'GROUP_RANK',
    'GROUP_WORLD_SIZE', 'ROLE_RANK', 'ROLE_NAME', 'ROLE_WORLD_SIZE',
    'MASTER_ADDR', 'MASTER_PORT', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS',
    'PYTHONUNBUFFERED', 'PYTEST_CURRENT_TEST', 'PYTHON', 'PORT', 'NNODES',
    'NODE_RANK', 'GPUS', 'TASKS', 'CPUS_PER_TASK'
})
RUNTIME_ENV_PREFIXES = ('TORCHELASTIC_', 'TORCH_NCCL_', 'NCCL_', 'SLURM_',
                        'SLURMD_')
#: Modules a nested command may run (with their submodules).
NESTED_MODULES = ('mil_seg', 'torch.distributed.run')


def _python_path(value: Optional[str]) -> list:
    """``PYTHONPATH`` as the entries it puts on ``sys.path``, in order."""
    entries = []
    for entry in (value or '').split(os.pathsep):
        entry = os.path.realpath(entry) if entry else ''
        if entry and entry not in entries:
            entries.append(entry)
    return entries


class Nested:
    """Serving the commands that the served tools start themselves.

    Each child of the server gets, as ``sys.executable``, an executable
    (``tests/served_python.py`` behind a ``#!`` line of the real
    interpreter) that sends ``python ...`` commands to this server's
    socket; the server runs those it may in a child of its own on the
    caller's standard fds, and refuses the others (the executable then
    becomes the real interpreter).

    Args:
        folder (str): Where the socket and the executable are made.
        scripts (str): The folder whose ``.py`` scripts a nested command
            may run (the repository's ``tools/``).
        before (dict): The environment the server imported with.
    """

    def __init__(self, folder: str, scripts: str, before: Dict[str, str]):
        self.scripts = os.path.realpath(scripts)
        self.before = before
        self.imported = dict(os.environ)  # after the server's imports
        self.socket_path = os.path.join(folder, 'socket')
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.socket_path)
        self.listener.listen(64)
        source_path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                   'served_python.py')
        with open(source_path, encoding='utf-8') as f:
            source = f.read()
        #: The executable (the served tools' ``sys.executable``).
        self.python = os.path.join(folder, 'python')
        with open(self.python, 'w', encoding='utf-8') as f:
            f.write(f'#!{sys.executable} -IS\n'
                    f'REAL = {sys.executable!r}\n'
                    f'SOCKET = {self.socket_path!r}\n' + source)
        os.chmod(self.python, 0o755)

    def refusal(self, request: dict) -> Optional[str]:
        """Why a fork would not run ``request`` as a fresh interpreter
        would (a target other than the served ones, an environment that
        differs in a variable read at import), or None."""
        target = request['target']
        if request['kind'] == 'module':
            if not any(target == name or target.startswith(name + '.')
                       for name in NESTED_MODULES):
                return f'module {target} is not served'
        else:
            script = os.path.realpath(os.path.join(request['cwd'], target))
            if not (os.path.isfile(script)
                    and script.startswith(self.scripts + os.sep)):
                return f'script {target} is not served'
        env = request['env']
        for key in set(env) | set(self.before):
            # a tool started by a tool inherits what the imports set
            if env.get(key) in (self.before.get(key), self.imported.get(key))\
                    or key in RUNTIME_ENV \
                    or key.startswith(RUNTIME_ENV_PREFIXES):
                continue
            if key == 'PYTHONPATH':
                why = self._extra_path(request)
                if why is None:
                    continue
                return why
            return f'{key} differs from the environment the server imported'
        return None

    def _extra_path(self, request: dict) -> Optional[str]:
        """Why the request's ``PYTHONPATH`` cannot be had by adding its
        new entries to ``sys.path`` (it drops or reorders the server's, or
        a new entry holds a module the server imported, which a fresh
        interpreter would import from there), or None; the new entries go
        to ``request['extra_path']``."""
        given = _python_path(request['env'].get('PYTHONPATH'))
        base = _python_path(self.before.get('PYTHONPATH'))
        if [entry for entry in given if entry in base] != base:
            return 'PYTHONPATH drops or reorders the server\'s entries'
        extra = [entry for entry in given if entry not in base]
        for entry in extra:
            try:
                names = os.listdir(entry)
            except OSError:
                continue
            for name in names:
                if name.split('.')[0] in sys.modules:
                    return (f'PYTHONPATH entry {entry} holds {name}, a module '
                            'the server imported')
        request['extra_path'] = extra
        return None

    def close(self) -> None:
        self.listener.close()


def _receive_request(conn) -> tuple:
    """A nested command's request and the three fds sent with it."""
    conn.settimeout(10)  # the executable sends at once
    data, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
    buffer = data
    while data and b'\n' not in buffer:
        data = conn.recv(1 << 20)
        buffer += data
    if len(fds) != 3 or b'\n' not in buffer:
        _close_all(fds)
        raise OSError('an incomplete request')
    conn.settimeout(None)
    return json.loads(buffer.split(b'\n', 1)[0]), fds


class Child:
    """A running child of the server and where its replies go: the test
    process's pipe (``conn`` None) or a nested command's socket."""

    def __init__(self, pid: int, conn=None) -> None:
        self.pid = pid
        self.conn = conn
        self.pidfd = os.pidfd_open(pid)


class Server:
    """The server's loop: requests of the test process on a pipe, nested
    commands on a socket, the children's ends on their pidfds, all in one
    thread (a thread would make forking unsafe).

    Args:
        requests (int): The fd of the test process's requests.
        replies (int): The fd of the replies to it.
        import_env (dict): See :class:`Tool`.
        path0 (bool): See :class:`Tool`.
        nested (Nested): The nested commands' socket and executable.
    """

    def __init__(self, requests: int, replies: int,
                 import_env: Dict[str, Optional[str]], path0: bool,
                 nested: Nested) -> None:
        self.requests = requests
        self.replies = replies
        self.import_env = import_env
        self.path0 = path0
        self.nested = nested
        self.buffer = b''
        self.children: Dict[int, Child] = {}  # by pidfd
        self.watched: Dict[int, Child] = {}  # by the fd of their socket

    def _close_in_child(self, conn) -> None:
        """Close the server's fds in a forked child: a child holding a
        socket's end would hide the server's death from the executable
        waiting on it."""
        os.close(self.requests)
        os.close(self.replies)
        self.nested.listener.close()
        for child in self.children.values():
            os.close(child.pidfd)
            if child.conn is not None:
                child.conn.close()
        if conn is not None:
            conn.close()

    def loop(self) -> Optional['Tool']:
        """Serve until the requests' pipe closes (then kill what still runs
        and return None); in a forked child, return its :class:`Tool`."""
        while True:
            readable = select.select(
                [self.requests, self.nested.listener.fileno(),
                 *self.children, *self.watched], [], [])[0]
            for fd in readable:
                if fd == self.requests:
                    data = os.read(fd, 65536)
                    if not data:
                        self._kill_all()
                        return None
                    self.buffer += data
                    while b'\n' in self.buffer:
                        line, self.buffer = self.buffer.split(b'\n', 1)
                        tool = self._start(json.loads(line), None, None)
                        if tool is not None:
                            return tool
                elif fd == self.nested.listener.fileno():
                    tool = self._accept()
                    if tool is not None:
                        return tool
                # An fd closed earlier in this round may be a new one's by
                # now: neither check below blocks on an fd not yet ready.
                elif fd in self.children:
                    child = self.children[fd]
                    pid, status = os.waitpid(child.pid, os.WNOHANG)
                    if pid:
                        del self.children[fd]
                        self._ended(child, status)
                elif fd in self.watched:
                    child = self.watched[fd]
                    try:
                        data = child.conn.recv(1, socket.MSG_DONTWAIT)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b''
                    if not data:  # the executable died: so does its child
                        del self.watched[fd]
                        _kill_group(child.pid, wait=False)

    def _accept(self) -> Optional['Tool']:
        conn = self.nested.listener.accept()[0]
        try:
            request, fds = _receive_request(conn)
        except (OSError, ValueError) as error:
            print(f'tool server: a nested request failed: {error}',
                  file=sys.stderr, flush=True)
            conn.close()
            return None
        why = self.nested.refusal(request)
        if why is not None:
            print(f'tool server: refused {request["target"]}: {why}',
                  file=sys.stderr, flush=True)
            _close_all(fds)
            _send_to(conn, {'refused': why})
            conn.close()
            return None
        try:
            tool = self._start(request, fds, conn)
        except BaseException:
            _close_all(fds)
            raise
        if tool is None:  # the server: the child has its own copies
            _close_all(fds)
        return tool

    def _reply(self, conn, message: dict) -> None:
        if conn is None:
            _send(self.replies, message)
        else:
            _send_to(conn, message)

    def _start(self, request: dict, fds: Optional[list],
               conn) -> Optional['Tool']:
        """Fork a child for ``request``; in the child return its prepared
        :class:`Tool`, in the server register it and return None."""
        problem = _fork_unsafe()
        if problem is not None:
            self._reply(conn, {'error': problem})
            if conn is not None:
                conn.close()
            return None
        # Nothing buffered may be written twice (or into the tool's output).
        sys.stdout.flush()
        sys.stderr.flush()
        # What the child's garbage collections need not look at, and so not
        # copy (the server's own few objects since the last request).
        gc.freeze()
        # The child reports a failure to set up (a server problem: nothing
        # of the tool ran) on one pipe, or closes it when set up; it then
        # waits on the other for the server's go, given once the caller
        # knows its pid (so that it can always kill the tool), and ends
        # without one (the server died).
        setup_read, setup_write = os.pipe()
        go_read, go_write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(setup_read)
            os.close(go_write)
            try:
                self._close_in_child(conn)
                tool = Tool(request, self.import_env, self.path0, fds,
                            self.nested.python)
                tool.prepare()
            except BaseException:  # noqa: B902
                _write_all(setup_write, traceback.format_exc().encode())
                os._exit(1)
            os.close(setup_write)
            if os.read(go_read, 1) != b'1':
                os._exit(1)
            os.close(go_read)
            return tool
        os.close(setup_write)
        os.close(go_read)
        try:
            problem = _read_all(setup_read).decode(errors='replace')
            os.close(setup_read)
            if problem:
                os.waitpid(pid, 0)
                self._reply(
                    conn, {'error': f'setting up the tool failed:\n{problem}'})
                if conn is not None:
                    conn.close()
                return None
            child = Child(pid, conn)
            self.children[child.pidfd] = child
            if conn is not None:
                self.watched[conn.fileno()] = child
            self._reply(conn, {'pid': pid})
            os.write(go_write, b'1')
        except OSError:
            # The caller is gone (a broken pipe or socket): the tool does
            # not outlive the request. A nested caller's death is its own
            # affair; the test process's ends the server.
            _kill_group(pid)
            for fd, child in list(self.children.items()):
                if child.pid == pid:
                    os.close(fd)
                    del self.children[fd]
            if conn is None:
                raise
            self.watched.pop(conn.fileno(), None)
            conn.close()
        finally:
            os.close(go_write)
        return None

    def _ended(self, child: Child, status: int) -> None:
        os.close(child.pidfd)
        message = {'returncode': os.waitstatus_to_exitcode(status)}
        if child.conn is None:
            _send(self.replies, message)
            return
        self.watched.pop(child.conn.fileno(), None)
        try:
            _send_to(child.conn, message)
        except OSError:
            pass  # the executable is gone
        child.conn.close()

    def _kill_all(self) -> None:
        for child in self.children.values():
            _kill_group(child.pid)
            os.close(child.pidfd)
            if child.conn is not None:
                child.conn.close()
        self.children.clear()
        self.watched.clear()


def _close_all(fds: list) -> None:
    for fd in fds:
        os.close(fd)


def _send_to(conn, message: dict) -> None:
    conn.sendall((json.dumps(message) + '\n').encode())


def _kill_group(pid: int, wait: bool = True) -> None:
    import signal
    try:
        os.killpg(pid, signal.SIGKILL)
        if wait:
            os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def main() -> int:
    """Serve requests until stdin closes; return the server's exit status.

    ``sys.argv[1]`` is the folder whose scripts nested commands may run;
    the modules after it, if any, are imported instead of ``PRELOAD``.
    In a forked child this does not return: the child ends in
    :meth:`Tool.exit`.
    """
    # The protocol keeps the pipes; fd 0 becomes /dev/null and fd 1 the
    # server's stderr (the test process's log of the server).
    requests = os.dup(0)
    replies = os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    path0 = sys.path[0] == ''  # the entry of `python -c`
    before = dict(os.environ)
    try:
        if not hasattr(os, 'pidfd_open'):
            raise RuntimeError('the tool server needs os.pidfd_open (Linux)')
        # `python -c SERVER_SOURCE SCRIPTS MODULE...`: those modules
        # instead (the tests of the server itself start servers of the
        # standard library only).
        for name in sys.argv[2:] or PRELOAD:
            __import__(name)
    except BaseException:  # noqa: B902 (reported, then the server ends)
        _send(replies, {'error': traceback.format_exc()})
        return 1
    import_env = {
        key: os.environ.get(key)
        for key in set(before) | set(os.environ)
        if os.environ.get(key) != before.get(key)
    }
    folder = tempfile.mkdtemp(prefix='mil_seg-tool-server-')
    nested = Nested(folder, sys.argv[1], before)
    _send(replies, {'ready': True, 'pid': os.getpid(),
                    'python': nested.python})
    gc.freeze()
    server = Server(requests, replies, import_env, path0, nested)
    server_pid = os.getpid()
    try:
        tool = server.loop()
    except BaseException:
        if os.getpid() == server_pid:
            server._kill_all()
        raise
    finally:
        if os.getpid() == server_pid:
            nested.close()
            shutil.rmtree(folder, ignore_errors=True)
    if tool is not None:  # the forked child
        tool.exit(tool.run())
    return 0
