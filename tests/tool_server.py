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

* server: ``{"ready": true, "pid": N}`` once imported, or ``{"error": S}``
  (then it exits with status 1);
* test process: ``{"kind": "script" | "module", "target": PATH | NAME,
  "args": [...], "orig_argv": [...], "cwd": DIR, "env": {...},
  "stdout": PATH, "stderr": PATH}``, the tool's arguments after the
  script or module;
* server: ``{"pid": N}`` once the child is set up and about to run the
  tool (``N`` leads its own session and process group), or
  ``{"error": S}`` where nothing of the tool ran;
* server: ``{"returncode": N}`` when the child has ended: its exit status,
  or minus the signal that killed it (as ``subprocess`` reports it).

Closing the server's stdin ends it (after the running child, if any).
"""
import builtins
import gc
import json
import os
import sys
import traceback
import types
from typing import BinaryIO, Dict, NoReturn, Optional

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
    """

    def __init__(self, request: dict, import_env: Dict[str, Optional[str]],
                 path0: bool) -> None:
        self.kind = request['kind']
        self.target = request['target']
        self.args = list(request['args'])
        self.orig_argv = list(request['orig_argv'])
        self.cwd = request['cwd']
        self.env: Dict[str, str] = request['env']
        self.import_env = import_env
        self.stdout = request['stdout']
        self.stderr = request['stderr']
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
        if hasattr(sys, 'orig_argv'):
            sys.orig_argv = self.orig_argv
        sys.modules['__main__'] = main

    def _redirect_fds(self) -> None:
        # The tool writes to fds 1 and 2 however it got them: sys.stdout
        # and sys.stderr (the server's objects, on fds 1 and 2, flushed
        # before the fork), logging handlers created at import holding
        # those objects, C code, and its own subprocesses.
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        for fd, path in ((1, self.stdout), (2, self.stderr)):
            capture = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                              0o600)
            os.dup2(capture, fd)
            os.close(capture)

    def _fresh_state(self) -> None:
        """What a fresh interpreter has that the server's copy lacks."""
        import importlib
        import linecache
        # Files written since the server's imports (directory listings of
        # sys.path entries; source lines of tracebacks) are read anew.
        importlib.invalidate_caches()
        linecache.clearcache()
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


def _serve_one(request: dict, requests: BinaryIO, replies: int,
               import_env: Dict[str, Optional[str]],
               path0: bool) -> Optional[Tool]:
    """Fork a child for ``request``; in the child, return its prepared
    :class:`Tool`, in the server reply and return None once it ended."""
    problem = _fork_unsafe()
    if problem is not None:
        _send(replies, {'error': problem})
        return None
    # Nothing buffered may be written twice (or into the tool's output).
    sys.stdout.flush()
    sys.stderr.flush()
    # What the child's garbage collections need not look at, and so not
    # copy (the server's own few objects since the last request).
    gc.freeze()
    # The child reports a failure to set up (a server problem: nothing of
    # the tool ran) on one pipe, or closes it when set up; it then waits
    # on the other for the server's go, given once the test process knows
    # its pid (so that it can always kill the tool), and ends without one
    # (the server died).
    setup_read, setup_write = os.pipe()
    go_read, go_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(setup_read)
        os.close(go_write)
        try:
            requests.close()
            os.close(replies)
            tool = Tool(request, import_env, path0)
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
            _send(replies,
                  {'error': f'setting up the tool failed:\n{problem}'})
            return None
        _send(replies, {'pid': pid})
        os.write(go_write, b'1')
        _, status = os.waitpid(pid, 0)
        _send(replies, {'returncode': os.waitstatus_to_exitcode(status)})
    except BaseException:
        # The test process is gone (a broken pipe) or stops the server:
        # the tool does not outlive it.
        _kill_group(pid)
        raise
    finally:
        os.close(go_write)
    return None


def _kill_group(pid: int) -> None:
    import signal
    try:
        os.killpg(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def main() -> int:
    """Serve requests until stdin closes; return the server's exit status.

    In a forked child this does not return: the child ends in
    :meth:`Tool.exit`.
    """
    # The protocol keeps the pipes; fd 0 becomes /dev/null and fd 1 the
    # server's stderr (the test process's log of the server).
    requests = os.fdopen(os.dup(0), 'rb')
    replies = os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    path0 = sys.path[0] == ''  # the entry of `python -c`
    before = dict(os.environ)
    try:
        # `python -c SERVER_SOURCE MODULE...`: those instead (the tests of
        # the server itself start servers of the standard library only).
        for name in sys.argv[1:] or PRELOAD:
            __import__(name)
    except BaseException:  # noqa: B902 (reported, then the server ends)
        _send(replies, {'error': traceback.format_exc()})
        return 1
    import_env = {
        key: os.environ.get(key)
        for key in set(before) | set(os.environ)
        if os.environ.get(key) != before.get(key)
    }
    _send(replies, {'ready': True, 'pid': os.getpid()})
    gc.freeze()
    for line in requests:
        tool = _serve_one(json.loads(line), requests, replies, import_env,
                          path0)
        if tool is not None:  # the forked child
            tool.exit(tool.run())
    return 0
